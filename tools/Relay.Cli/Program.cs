using Relay.Cli;

// relay: the operator CLI (issue 19). Commands, output and exit codes: tools/Relay.Cli/README.md.
return await RelayCli.RunAsync(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);
