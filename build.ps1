# Relay build script for Windows (and PowerShell 7 anywhere). The same verbs and steps as build.sh:
#   build | test | results | run | load | bench [gateway|steering|wan|attack|regions] | publish | help   (./build.ps1 help lists them)
# Steps that need Linux-only tools (apt-get, network namespaces, /proc) print one line saying they are skipped on
# Windows; everything else runs the same. tests/Relay.Scripts.Tests checks that `./build.ps1 help` and
# `./build.sh help` list the same verbs.
# No param block: with one, PowerShell binds the verbs' own options to its parameters by prefix (`--progress off`
# became -ProgressAction, a common parameter of an advanced script; `-v` would be -Verb). Every argument is the verb's.
$Verb = if ($args.Count -gt 0) { [string]$args[0] } else { "" }
$Rest = [string[]]@(if ($args.Count -gt 1) { $args[1..($args.Count - 1)] })
$ErrorActionPreference = "Stop"
$Caller = (Get-Location).Path # load: relative paths (--out, --ready-file) are the caller's
Set-Location $PSScriptRoot
$Root = $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = "1"; $env:DOTNET_NOLOGO = "1"; $env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = "1"
$Config = if ($env:CONFIG) { $env:CONFIG } else { "Release" }
# Windows PowerShell 5.1 has no $IsWindows (and runs only on Windows).
$OnWindows = ($PSVersionTable.PSEdition -eq "Desktop") -or $IsWindows
if ($null -eq $Rest) { $Rest = @() }

$Usage = @"
usage: ./build.ps1 VERB [args]
  build                 build every project (Release; `$env:CONFIG=Debug for debug)
  test                  install what the tests need, run every test suite, print "tests: N passed, N failed, N skipped"
  results DIR           a finished run's closing lines from its TRX folder (artifacts/test-results): failed tests, counts
  run                   start core-sim and one gateway on this machine and print URLs, keys and tokens (Ctrl-C stops; --core-port, --backhaul-port, --gateway-port, --agent-port move it)
  load SCENARIO [args]  the load generator against a running Relay (scenarios: ./build.ps1 load --help)
  bench                 BenchmarkDotNet codec benchmarks (bench codec|throughput: the same tool's other runs)
  bench gateway         gateway vs direct-to-core on loopback, nginx and HAProxy side by side (parts: steady fixed storm idle failover peers rounds interleaved; Linux: /proc, bash)
  bench steering        sessions moved by a drain through HAProxy
  bench wan             a session over a userspace WAN delay line, through the relay vs direct (Linux, as root)
  bench attack          legitimate sessions through a gateway without and with a connection flood (Linux loopback)
  bench cluster         core-sim on Redis vs in memory (CPU, p99 per message); a node's SIGKILL: time until 99 % resumed (issue 20)
  bench regions         the regions lab: per region direct vs relay vs negotiate, region loss (DNS answers, resumes), drain (Linux, as root)
  publish [--rid RID]   self-contained, versioned gateway/core-sim/CLI builds (linux-x64, win-x64), archives, the .deb (Linux), SHA256SUMS
  help                  this list
"@

function Fail([string]$Message, [int]$Code = 1) { [Console]::Error.WriteLine($Message); exit $Code }

function Invoke-Native([scriptblock]$NativeCommand) {
  # Runs a native command whose stderr is redirected (2>$null, 2>&1, *>) with "Continue": Windows PowerShell 5.1 turns
  # each such stderr line into an error record, which this script's "Stop" would make fatal (`git describe` without a
  # tag stopped publish). $LASTEXITCODE says how it ended. BuildPs1Tests checks that every such redirection is in one.
  $ErrorActionPreference = "Continue"
  & $NativeCommand
}

function Skip-OnWindows([string]$What) {
  # One line for a step that needs Linux; $true when it was skipped.
  if ($OnWindows) { [Console]::Error.WriteLine("build.ps1: skipped on Windows: $What"); return $true }
  return $false
}

function Assert-Dotnet {
  if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
    Fail "build.ps1: the .NET 10 SDK is required (https://dot.net); 'dotnet' is not on PATH" 2
  }
}

function Invoke-Build([string[]]$BuildArgs) {
  Assert-Dotnet
  dotnet build Relay.sln -c $Config -nologo -v quiet @BuildArgs
  if ($LASTEXITCODE) { exit $LASTEXITCODE }
}

function Invoke-Bash([string]$Script, [string[]]$ScriptArgs = @()) {
  # Runs a bash script of scripts/ (its output to the console, not into this function's result); its exit code.
  bash $Script @ScriptArgs | Out-Host
  return $LASTEXITCODE
}

function Get-TestCounts([string]$Results) {
  # Sums the counters of every TRX file: the real results, not dotnet test's summary. A test that did not run
  # (ignored, inconclusive, skipped: outcome NotExecuted) is listed with its reason on stderr; under CI (CI=true)
  # it counts as a failure, so a suite that quietly skipped (no root, a missing tool) cannot pass there.
  $passed = 0; $failed = 0; $total = 0; $notRun = @()
  foreach ($trx in Get-ChildItem (Join-Path $Results "*.trx") -ErrorAction SilentlyContinue) {
    $run = ([xml](Get-Content -Raw $trx.FullName)).TestRun
    $c = $run.ResultSummary.Counters
    $total += [int]$c.total; $passed += [int]$c.passed
    $failed += [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted
    $notRun += @(Get-TrxResultLines $trx.BaseName $run { $args[0] -notin "Passed", "Failed", "Error", "Timeout", "Aborted" })
  }
  $skipped = $total - $passed - $failed
  if ($skipped -gt 0) {
    if ($env:CI -eq "true") {
      [Console]::Error.WriteLine("build.ps1: CI=true and $skipped test(s) did not run; each counts as a failure:")
      $failed += $skipped; $skipped = 0
    } else {
      [Console]::Error.WriteLine("build.ps1: $skipped test(s) skipped:")
    }
    $notRun | ForEach-Object { [Console]::Error.WriteLine($_) }
  }
  return @($passed, $failed, $skipped)
}

function Get-TrxResultLines([string]$Project, $Run, [scriptblock]$OutcomeMatches) {
  # "  Project: Test — message on one line" for each result of a TRX run whose outcome matches.
  $Run.Results.UnitTestResult | Where-Object { $_ -and (& $OutcomeMatches $_.outcome) } | ForEach-Object {
    $reason = "$($_.Output.ErrorInfo.Message)".Trim() -replace '\s+', ' '
    "  ${Project}: $($_.testName) — $(if ($reason) { $reason } else { '(no reason given)' })"
  }
}

function Get-FailedTests([string]$Results) {
  # Every TRX result that failed, errored, timed out or aborted, as Get-TrxResultLines writes it (at most 600 characters).
  foreach ($trx in Get-ChildItem (Join-Path $Results "*.trx") -ErrorAction SilentlyContinue) {
    Get-TrxResultLines $trx.BaseName ([xml](Get-Content -Raw $trx.FullName)).TestRun { $args[0] -in "Failed", "Error", "Timeout", "Aborted" } |
      ForEach-Object { if ($_.Length -gt 600) { $_.Substring(0, 600) } else { $_ } }
  }
}

function Install-TestPrerequisites {
  # Real parts for the end-to-end tests (Debian packages; root only; each script says what it skips).
  if (-not (Skip-OnWindows "HAProxy, wireguard-go/wireguard-tools and PowerDNS come from Debian packages (scripts/install-*.sh); their suites skip and say so")) {
    foreach ($s in "scripts/install-haproxy.sh", "scripts/install-wireguard.sh", "scripts/install-pdns.sh", "scripts/install-prometheus.sh", "scripts/install-redis.sh", "scripts/install-python.sh") { Invoke-Bash $s | Out-Null }
  }
  # PowerShell for the build.ps1 tests (tests/Relay.Scripts.Tests): a pinned .NET tool, installed by the tests too.
  if (-not $OnWindows) { Invoke-Bash "scripts/install-pwsh.sh" | Out-Null }
  # npm ws for the interop test.
  if (Get-Command npm -ErrorAction SilentlyContinue) {
    Push-Location tests/interop
    try { npm ci --no-audit --no-fund --loglevel=error; if ($LASTEXITCODE) { [Console]::Error.WriteLine("build.ps1: npm ci for tests/interop failed; the interop test will report it") } }
    finally { Pop-Location }
  } else {
    [Console]::Error.WriteLine("build.ps1: node and npm are needed for the npm ws interop test (https://nodejs.org); the interop test will report it")
  }
}

function Invoke-Test([string[]]$TestArgs) {
  Assert-Dotnet
  Install-TestPrerequisites
  $results = Join-Path $Root "artifacts/test-results"
  Remove-Item -Recurse -Force $results -ErrorAction SilentlyContinue
  New-Item -ItemType Directory -Force $results | Out-Null
  Assert-Dotnet
  dotnet build Relay.sln -c $Config -nologo -v quiet
  if ($LASTEXITCODE) {
    [Console]::Error.WriteLine("build.ps1: the build failed; no test ran")
    Write-Output "tests: 0 passed, 1 failed, 0 skipped"
    exit 1
  }
  $rc = 0
  foreach ($proj in Get-ChildItem tests/*/*.Tests.csproj | Sort-Object FullName) {
    Write-Output "== $($proj.BaseName)"
    dotnet test $proj.FullName -c $Config --no-build -nologo `
      --logger "trx;LogFileName=$($proj.BaseName).trx" --logger "console;verbosity=normal" `
      --results-directory $results --blame-hang-timeout 5m @TestArgs
    if ($LASTEXITCODE) { $rc = 1 }
  }
  # JavaScript: the SDK's node tests and the Chromium browser tests (their own closing line), through bash.
  if (Get-Command bash -ErrorAction SilentlyContinue) {
    Invoke-Native { bash scripts/test-js.sh 2>&1 } | Tee-Object -FilePath (Join-Path $results "js-tests.log") | ForEach-Object { Write-Output "$_" }
    if ($LASTEXITCODE) { $rc = 1 }
  } else {
    [Console]::Error.WriteLine("build.ps1: skipped on Windows without bash (Git for Windows): the JavaScript tests (scripts/test-js.sh)")
  }
  exit (Write-TestSummary $results $rc)
}

function Write-TestSummary([string]$Results, [int]$Rc = 0) {
  # The closing lines of a test run from the folder's TRX files and js-tests.log: the failed tests (when any), then
  # "tests: N passed, N failed, N skipped"; returns the exit code (1 when anything failed). $Rc non-zero (a suite's
  # command failed) is never a pass.
  if (-not (Test-Path -PathType Container $Results)) { [Console]::Error.WriteLine("build.ps1: results: no folder $Results"); return 2 }
  $passed, $failed, $skipped = Get-TestCounts $Results
  $jsLog = Join-Path $Results "js-tests.log"
  $jsLine = if (Test-Path $jsLog) { Select-String -Path $jsLog -Pattern '^js-tests: (\d+) passed, (\d+) failed, (\d+) skipped' | Select-Object -Last 1 }
  if ($jsLine) {
    $g = $jsLine.Matches[0].Groups
    $passed += [int]$g[1].Value; $failed += [int]$g[2].Value; $skipped += [int]$g[3].Value
  } elseif ($env:CI -eq "true" -or -not $OnWindows) {
    [Console]::Error.WriteLine("build.ps1: no closing line from the JavaScript tests in $jsLog")
    $failed += 1 # the JS suites did not report: under CI (and wherever bash runs them) that is a failure
  } else {
    $skipped += 1
  }
  $crashed = $Rc -ne 0 -and $failed -eq 0
  if ($crashed) { $failed = 1 } # a test host crashed or a project did not run: never a pass
  if ($failed -gt 0) {
    # the names right above the closing line, so a CI log's tail says which tests failed
    Write-Host "failed tests:"
    if ($crashed) { Write-Host "  (no failed result: a test host crashed or a suite did not run; see its output above)" }
    Get-FailedTests $Results | ForEach-Object { Write-Host $_ }
    if (Test-Path $jsLog) { Select-String -Path $jsLog -Pattern '^ *not ok ' | ForEach-Object { Write-Host ("  js: " + $_.Line.TrimStart()) } }
  }
  Write-Host "tests: $passed passed, $failed failed, $skipped skipped"
  if ($failed -ne 0) { return 1 }
  return 0
}

function Get-PortHolder([int]$Port) {
  # "" when nothing listens on $Port; else the holder ("name (pid N)") or "another process".
  if ($OnWindows -and (Get-Command Get-NetTCPConnection -ErrorAction SilentlyContinue)) {
    $c = Get-NetTCPConnection -State Listen -LocalPort $Port -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $c) { return "" }
    $p = Get-Process -Id $c.OwningProcess -ErrorAction SilentlyContinue
    return $(if ($p) { "$($p.ProcessName) (pid $($p.Id))" } else { "pid $($c.OwningProcess)" })
  }
  if (Get-Command ss -ErrorAction SilentlyContinue) {
    $line = Invoke-Native { ss -Hltnp "sport = :$Port" 2>$null } | Select-Object -First 1
    if (-not $line) { return "" }
    if ($line -match 'users:\(\("([^"]*)",pid=(\d+)') { return "$($Matches[1]) (pid $($Matches[2]))" }
    return "another process"
  }
  $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $Port)
  try { $listener.Start(); return "" } catch { return "another process" } finally { $listener.Stop() }
}

$script:Http = $null
function Get-HttpStatus([string]$Url) {
  # The HTTP status of GET $Url, or 0 when nothing answers (2 s).
  if (-not $script:Http) {
    Add-Type -AssemblyName System.Net.Http
    $script:Http = [System.Net.Http.HttpClient]::new(); $script:Http.Timeout = [TimeSpan]::FromSeconds(2)
  }
  try { return [int]$script:Http.GetAsync($Url).GetAwaiter().GetResult().StatusCode } catch { return 0 }
}

function Start-Logged([string]$Name, [string[]]$ProcessArgs, [string]$RunDir, [hashtable]$Secrets = @{}) {
  # Starts dotnet with $ProcessArgs, output to RUN/NAME.log (stderr to NAME.err.log); its pid in RUN/NAME.pid.
  # $Secrets (configuration keys in environment form, e.g. CoreSim__AdminKey) go in the child's environment, which only
  # its user may read, never on its command line, which every local user reads (ps, /proc/PID/cmdline).
  $line = ($ProcessArgs | ForEach-Object { if ($_ -match '[\s"]') { '"' + ($_ -replace '"', '\"') + '"' } else { $_ } }) -join " "
  foreach ($k in $Secrets.Keys) { [Environment]::SetEnvironmentVariable($k, $Secrets[$k]) }
  try {
    $p = Start-Process dotnet -ArgumentList $line -PassThru -NoNewWindow `
      -RedirectStandardOutput (Join-Path $RunDir "$Name.log") -RedirectStandardError (Join-Path $RunDir "$Name.err.log")
  } finally {
    foreach ($k in $Secrets.Keys) { [Environment]::SetEnvironmentVariable($k, $null) }
  }
  Set-Content -Path (Join-Path $RunDir "$Name.pid") -Value $p.Id
  return $p
}

function Stop-Gently($Process) {
  # SIGTERM where there is one (the gateway closes its sessions with 1001), then kill after 10 s.
  if (-not $Process -or $Process.HasExited) { return }
  if (-not $OnWindows) { Invoke-Native { kill -TERM $Process.Id 2>$null } }
  if (-not $Process.WaitForExit(10000)) { Stop-Process -Id $Process.Id -Force -ErrorAction SilentlyContinue }
}

function Invoke-Run([string[]]$RunArgs) {
  Assert-Dotnet
  $corePort = 7080; $backhaulPort = 7000; $gatewayPort = 8080; $agentPort = 8081
  for ($i = 0; $i -lt $RunArgs.Count; $i++) {
    $opt = $RunArgs[$i]
    if ($opt -in "-h", "--help") {
      Write-Output "usage: ./build.ps1 run [--core-port 7080] [--backhaul-port 7000] [--gateway-port 8080] [--agent-port 8081]"
      Write-Output "  starts core-sim and one gateway, waits for the gateway's /readyz 200, prints URLs, keys and tokens; Ctrl-C stops both"
      exit 0
    }
    if ($i + 1 -ge $RunArgs.Count -or $RunArgs[$i + 1] -notmatch '^\d{1,5}$' -or [int]$RunArgs[$i + 1] -lt 1 -or [int]$RunArgs[$i + 1] -gt 65535) {
      Fail "run: $opt needs a port (1-65535); see ./build.ps1 run --help" 2
    }
    $value = [int]$RunArgs[++$i]
    switch ($opt) {
      "--core-port" { $corePort = $value }
      "--backhaul-port" { $backhaulPort = $value }
      "--gateway-port" { $gatewayPort = $value }
      "--agent-port" { $agentPort = $value }
      default { Fail "run: unknown option $opt; see ./build.ps1 run --help" 2 }
    }
  }
  # Refuse at once, in one line, when a port this run needs is taken (naming the process that holds it): a second
  # instance would otherwise find the first one's core-sim answering and print its tokens as its own.
  foreach ($port in $corePort, $backhaulPort, $gatewayPort, $agentPort) {
    $holder = Get-PortHolder $port
    if ($holder) {
      Fail "run: port $port is taken by $holder; stop that process first (ports: core-sim $corePort and $backhaulPort, gateway $gatewayPort and $agentPort)"
    }
  }
  # Each run has its own folder (logs, the core's public key, pids): never another instance's files.
  $run = Join-Path $Root ("artifacts/run/{0}-{1}" -f (Get-Date).ToUniversalTime().ToString("yyyyMMdd-HHmmss"), $PID)
  New-Item -ItemType Directory -Force $run | Out-Null
  $rng = [Security.Cryptography.RandomNumberGenerator]::Create()
  $bytes = [byte[]]::new(32); $rng.GetBytes($bytes)
  # The relay's backhaul key (base64 of 32 random bytes): fresh for each run unless given; core-sim holds it for relay-local.
  $key = if ($env:RELAY_SHARED_KEY) { $env:RELAY_SHARED_KEY } else { [Convert]::ToBase64String($bytes) }
  # The gateway's admin key (drain, Under Attack mode, cache purge): random for each run unless given.
  $bytes = [byte[]]::new(24); $rng.GetBytes($bytes)
  $admin = if ($env:RELAY_ADMIN_KEY) { $env:RELAY_ADMIN_KEY } else { ($bytes | ForEach-Object { $_.ToString("x2") }) -join "" }
  # core-sim's admin key (faults, the dashboard's drain buttons, operator tokens): random for each run unless given.
  $bytes = [byte[]]::new(24); $rng.GetBytes($bytes)
  $coreAdmin = if ($env:RELAY_CORE_ADMIN_KEY) { $env:RELAY_CORE_ADMIN_KEY } else { ($bytes | ForEach-Object { $_.ToString("x2") }) -join "" }

  # Only what it runs (core-sim, the gateway and what they reference): not the tests, tools and benches.
  Write-Output "building…"
  foreach ($project in @("core-sim/Relay.CoreSim.csproj", "gateway/Relay.Gateway.csproj")) {
    $buildLog = @(Invoke-Native { dotnet build $project -c Release -nologo -v quiet 2>&1 })
    if ($LASTEXITCODE) {
      $code = $LASTEXITCODE
      $buildLog | Select-Object -Last 20 | ForEach-Object { [Console]::Error.WriteLine("$_") }
      Fail "run: the build failed: dotnet build $project -c Release" $code
    }
  }

  $pem = Join-Path $run "core-public.pem"
  $core = $null; $gw = $null
  try {
    # Development: the demo widget's token proxy gets visitor tokens without a key (core-sim mints none elsewhere).
    $core = Start-Logged "core-sim" @("core-sim/bin/Release/net10.0/Relay.CoreSim.dll", "--environment", "Development", "--CoreSim:BindAddress=127.0.0.1",
      "--CoreSim:HttpPort=$corePort", "--CoreSim:BackhaulPort=$backhaulPort", "--CoreSim:PublicKeyPath=$pem") $run `
      @{ CoreSim__SharedKey = $key; CoreSim__AdminKey = $coreAdmin } # the relay's key: Development's SharedKey, as build.sh
    for ($i = 0; $i -lt 100; $i++) {
      if ((Test-Path $pem) -and (Get-HttpStatus "http://127.0.0.1:$corePort/healthz") -eq 200) { break }
      if ($core.HasExited) { break }
      Start-Sleep -Milliseconds 200
    }
    if (-not (Test-Path $pem) -or $core.HasExited) {
      Get-Content (Join-Path $run "core-sim.log"), (Join-Path $run "core-sim.err.log") -Tail 5 -ErrorAction SilentlyContinue | ForEach-Object { [Console]::Error.WriteLine($_) }
      Fail "core-sim did not start; see $run/core-sim.log"
    }
    $gw = Start-Logged "gateway" @("gateway/bin/Release/net10.0/Relay.Gateway.dll", "--Gateway:BindAddress=127.0.0.1",
      "--Gateway:HttpPort=$gatewayPort", "--Gateway:Health:AgentPort=$agentPort", "--Gateway:Backhaul:Endpoints:0=127.0.0.1:$backhaulPort",
      "--Gateway:PublicKeyPath=$pem",
      "--Gateway:Backhaul:RelayId=relay-local", "--Gateway:Backhaul:Region=local",
      "--Gateway:DemoWidget=true", "--Gateway:DemoTokenUrl=http://127.0.0.1:$corePort/v1/tokens",
      "--Gateway:Negotiate:PublicUrl=ws://127.0.0.1:$gatewayPort/ws",
      # Every session of this machine (./build.ps1 load connects them from 127.0.0.1): a relay takes 100 open, 16 connecting per address by default.
      "--Gateway:MaxSessionsPerIp=100000", "--Gateway:MaxPreAuthConnectionsPerIp=4096") $run `
      @{ Gateway__Backhaul__SharedKey = $key; Gateway__AdminKey = $admin }
    # "running" only once the gateway answers /readyz 200 (backhaul and tunnel up).
    $ready = $false
    for ($i = 0; $i -lt 100 -and -not $gw.HasExited; $i++) {
      if ((Get-HttpStatus "http://127.0.0.1:$gatewayPort/readyz") -eq 200) { $ready = $true; break }
      Start-Sleep -Milliseconds 200
    }
    if (-not $ready) {
      Get-Content (Join-Path $run "gateway.log"), (Join-Path $run "gateway.err.log") -Tail 5 -ErrorAction SilentlyContinue | ForEach-Object { [Console]::Error.WriteLine($_) }
      Fail "gateway not ready; see $run/gateway.log"
    }
    foreach ($p in $core, $gw) {
      if ($p.HasExited) { Fail "run: a process of this run (pid $($p.Id)) exited; see $run/*.log" }
    }

    $tokens = "http://127.0.0.1:$corePort/v1/tokens"
    $token = (Invoke-RestMethod -Method Post -Uri $tokens -ContentType "application/json" -Body '{"sub":"v1","site":"s1","role":"visitor"}').token
    $operator = (Invoke-RestMethod -Method Post -Uri $tokens -ContentType "application/json" -Headers @{ Authorization = "Bearer $coreAdmin" } `
        -Body '{"sub":"operator-1","site":"demo","role":"operator"}').token
    Write-Output @"

Relay is running (logs in $run):
  demo chat widget    http://127.0.0.1:$gatewayPort/   (a visitor and an operator in the visitor's room; development only)
  gateway websocket   ws://127.0.0.1:$gatewayPort/ws?access_token=<token>
  gateway health      http://127.0.0.1:$gatewayPort/readyz   /status   /metrics
  core-sim            http://127.0.0.1:$corePort/  (fleet dashboard)  /fleet  POST /v1/tokens
  core-sim direct     ws://127.0.0.1:$corePort/ws  (the baseline without a relay)

core-sim admin key (the dashboard asks for it once; faults, drain buttons, operator tokens):
  $coreAdmin

A visitor token (1 h; site s1, its room is "v1"):
  $token

An operator token for the demo widget's operator pane (1 h; site demo; paste it when the page asks):
  $operator

Try it (type {"type":"hello"} then {"type":"msg","seq":1,"body":"hi"}):
  npx -y wscat -c "ws://127.0.0.1:$gatewayPort/ws?access_token=$token"

Drain the gateway:  curl -X POST -H "Authorization: Bearer $admin" 'http://127.0.0.1:$gatewayPort/admin/drain?force=true'
  (force: it is the fleet's only relay; undrain: the same with /admin/undrain)
Ctrl-C stops both (pids: core-sim $($core.Id), gateway $($gw.Id)).
"@
    while (-not $core.HasExited -and -not $gw.HasExited) { Start-Sleep -Milliseconds 300 }
    foreach ($p in $core, $gw) {
      if ($p.HasExited) { [Console]::Error.WriteLine("run: a process of this run (pid $($p.Id)) exited; see $run/*.log") }
    }
    exit 1
  } finally {
    Stop-Gently $gw
    Stop-Gently $core
  }
}

function Invoke-Bench([string[]]$BenchArgs) {
  Assert-Dotnet
  $kind = if ($BenchArgs.Count -gt 0) { $BenchArgs[0] } else { "" }
  $more = @($BenchArgs | Select-Object -Skip 1)
  switch ($kind) {
    "gateway" {
      if (Skip-OnWindows "bench gateway (scripts/bench-gateway.sh reads /proc and runs under bash)") { exit 0 }
      exit (Invoke-Bash "scripts/bench-gateway.sh" $more)
    }
    "steering" {
      dotnet build Relay.sln -c Release -nologo -v quiet; if ($LASTEXITCODE) { exit $LASTEXITCODE }
      dotnet run -c Release --no-build --project tools/Relay.SteeringBench -- @more; exit $LASTEXITCODE
    }
    "attack" {
      # The flood binds 127.0.x.y source addresses: Linux loopback only (on Windows only 127.0.0.1 answers by default).
      if (Skip-OnWindows "bench attack (the flood binds 127.0.x.y source addresses: Linux loopback only)") { exit 0 }
      dotnet build Relay.sln -c Release -nologo -v quiet; if ($LASTEXITCODE) { exit $LASTEXITCODE }
      # Its flood needs many descriptors: the soft open-file limit raised to the hard one (as build.sh does).
      bash -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"' bench-attack dotnet tools/Relay.AttackBench/bin/Release/net10.0/Relay.AttackBench.dll @more
      exit $LASTEXITCODE
    }
    "wan" {
      if (Skip-OnWindows "bench wan (WireGuard in network namespaces: Linux, as root)") { exit 0 }
      dotnet build Relay.sln -c Release -nologo -v quiet; if ($LASTEXITCODE) { exit $LASTEXITCODE }
      dotnet tools/Relay.WanBench/bin/Release/net10.0/Relay.WanBench.dll @more; exit $LASTEXITCODE
    }
    "regions" {
      if (Skip-OnWindows "bench regions (network namespaces, wireguard-go and PowerDNS from apt-get: Linux, as root)") { exit 0 }
      Invoke-Bash "scripts/install-wireguard.sh" | Out-Null; Invoke-Bash "scripts/install-pdns.sh" | Out-Null
      dotnet build Relay.sln -c Release -nologo -v quiet; if ($LASTEXITCODE) { exit $LASTEXITCODE }
      dotnet tools/Relay.RegionsBench/bin/Release/net10.0/Relay.RegionsBench.dll @more; exit $LASTEXITCODE
    }
    "cluster" {
      # Issue 20: core-sim on Redis vs one in-memory node; a node's SIGKILL under load (redis-server from apt-get: Linux).
      if (Skip-OnWindows "bench cluster (redis-server from Debian's packages: Linux)") { exit 0 }
      Invoke-Bash "scripts/install-redis.sh" | Out-Null
      dotnet build tools/Relay.ClusterBench -c Release -nologo -v quiet; if ($LASTEXITCODE) { exit $LASTEXITCODE }
      dotnet tools/Relay.ClusterBench/bin/Release/net10.0/Relay.ClusterBench.dll cluster @more; exit $LASTEXITCODE
    }
    default { dotnet run -c Release --project bench/Relay.Benchmarks -- @BenchArgs; exit $LASTEXITCODE }
  }
}

function Invoke-Load([string[]]$LoadArgs) {
  # The load generator (scripts/load.sh's twin): ./build.ps1 load steady --url ws://127.0.0.1:8080/ws --token-url http://127.0.0.1:7080/v1/tokens
  # Built in the checkout, run in the caller's folder: a relative --out (and the default ./loadgen-results) is theirs.
  Assert-Dotnet
  dotnet build tools/Relay.LoadGen/Relay.LoadGen.csproj -c $Config -nologo -v quiet
  if ($LASTEXITCODE) { Fail "load: the build failed: dotnet build tools/Relay.LoadGen -c $Config" 2 }
  Set-Location $Caller
  dotnet (Join-Path $Root "tools/Relay.LoadGen/bin/$Config/net10.0/Relay.LoadGen.dll") @LoadArgs
  exit $LASTEXITCODE
}

function Get-RelayVersion {
  # The same version as scripts/version.sh (build.sh publish): vX.Y.Z tags give X.Y.Z (+N.gSHA after it), none gives
  # 0.1.0+N.gSHA; ".dirty" with uncommitted changes; $env:VERSION overrides.
  if ($env:VERSION) { return ($env:VERSION -replace '[^A-Za-z0-9._+-]', '-') }
  $sha = (Invoke-Native { git rev-parse --short=7 HEAD 2>$null })
  if ($LASTEXITCODE -or -not $sha) { return "0.1.0+local" }
  Invoke-Native { git diff --quiet HEAD -- 2>$null }
  $dirty = if ($LASTEXITCODE) { ".dirty" } else { "" }
  $tag = (Invoke-Native { git describe --tags --match 'v[0-9]*.[0-9]*.[0-9]*' --abbrev=0 2>$null })
  if (-not $LASTEXITCODE -and $tag) {
    $n = [int](git rev-list --count "$tag..HEAD")
    $v = "$tag".Trim().Substring(1)
    if ($n -eq 0) { return "$v$(if ($dirty) { '+dirty' })" }
    return "$v+$n.g$sha$dirty"
  }
  return "0.1.0+$([int](git rev-list --count HEAD)).g$sha$dirty"
}

function Invoke-Publish([string[]]$PublishArgs) {
  # The same artifacts as ./build.sh publish (scripts/publish.sh): self-contained, versioned folders
  # OUT/PROJECT-RID/ (with VERSION) of the gateway, core-sim and the relay CLI (when tools/Relay.Cli exists) for
  # linux-x64 and win-x64 unless --rid is given (--project NAME: only those), an archive of each (tar.gz for Linux and
  # macOS, zip for Windows), the gateway's .deb where bash and dpkg-deb exist (Linux; NO_DEB=1 skips it), and
  # SHA256SUMS (sha256sum -c format) of the archives and the package. OUT is artifacts/publish/VERSION, or $env:PUBLISH_DIR.
  Assert-Dotnet
  $rids = @(); $names = @()
  $usage = "publish: usage: ./build.ps1 publish [--rid RID]... [--project gateway|core-sim|cli]... (default: linux-x64 and win-x64, every project)"
  for ($i = 0; $i -lt $PublishArgs.Count; $i++) {
    if ($PublishArgs[$i] -eq "--rid" -and $i + 1 -lt $PublishArgs.Count -and $PublishArgs[$i + 1] -match '^[a-z0-9.-]{1,40}$') { $rids += $PublishArgs[++$i] }
    elseif ($PublishArgs[$i] -eq "--project" -and $i + 1 -lt $PublishArgs.Count -and $PublishArgs[$i + 1] -in @("gateway", "core-sim", "cli")) { $names += $PublishArgs[++$i] }
    else { Fail $usage 2 }
  }
  if ($rids.Count -eq 0) { $rids = @("linux-x64", "win-x64") }
  $version = Get-RelayVersion
  $numeric = $version -replace '^([0-9]+\.[0-9]+\.[0-9]+).*', '$1'
  $projects = [ordered]@{ "gateway" = "gateway/Relay.Gateway.csproj"; "core-sim" = "core-sim/Relay.CoreSim.csproj" }
  if (Test-Path "tools/Relay.Cli/Relay.Cli.csproj") { $projects["cli"] = "tools/Relay.Cli/Relay.Cli.csproj" }
  foreach ($name in $names) { if (-not $projects.Contains($name)) { Fail "publish: no project for '$name'" 2 } }
  if ($names.Count -eq 0) { $names = @($projects.Keys) }
  $out = if ($env:PUBLISH_DIR) { [IO.Path]::GetFullPath($env:PUBLISH_DIR) } else { Join-Path $Root "artifacts/publish/$version" }
  # Its own bin and obj folders: a runtime-specific restore in the projects' own obj would make the next build rebuild all.
  $build = Join-Path $Root "artifacts/publish-build"
  Write-Output "publish: version $version → $out"
  Remove-Item -Recurse -Force $out -ErrorAction SilentlyContinue
  New-Item -ItemType Directory -Force $out | Out-Null
  Add-Type -AssemblyName System.IO.Compression.FileSystem
  foreach ($rid in $rids) {
    foreach ($name in $names) {
      $dir = Join-Path $out "$name-$rid"
      $log = Join-Path $out ".publish-$name-$rid.log"
      Write-Output "publish: $name $rid"
      # The same properties as scripts/publish.sh: no symbols or XML docs in what ships. Its output goes to a log.
      Invoke-Native { dotnet publish $projects[$name] -c Release -r $rid --self-contained true -o $dir -nologo -v quiet --artifacts-path $build `
          "-p:Version=$numeric" "-p:InformationalVersion=$version" -p:IncludeSourceRevisionInInformationalVersion=false `
          -p:DebugType=None -p:DebugSymbols=false -p:GenerateDocumentationFile=false *> $log }
      if ($LASTEXITCODE) {
        if (Select-String -Path $log -Pattern 'NU1101|NU1102|Unable to find package|runtime pack|Microsoft\.(NETCore|AspNetCore)\.App\.(Runtime|Host)' -Quiet) {
          [Console]::Error.WriteLine("publish: SKIPPED $name ${rid}: its runtime packs are not served by the NuGet source here (see $log)")
          Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
          continue
        }
        [Console]::Error.WriteLine("publish: dotnet publish $name $rid failed:")
        Get-Content $log -Tail 20 | ForEach-Object { [Console]::Error.WriteLine($_) }
        exit 1
      }
      Remove-Item -Force $log
      [IO.File]::WriteAllText((Join-Path $dir "VERSION"), $version) # scripts/rolling-upgrade.sh names the release after it
      if ($rid -like "win-*") {
        [IO.Compression.ZipFile]::CreateFromDirectory($dir, (Join-Path $out "$name-$version-$rid.zip"), [IO.Compression.CompressionLevel]::Optimal, $true)
      } else {
        # tar keeps the executable bits (zip does not); Windows 10 and later ship tar.exe.
        tar -C $out -czf (Join-Path $out "$name-$version-$rid.tar.gz") "$name-$rid"
        if ($LASTEXITCODE) { Fail "publish: tar of $name-$rid failed" 1 }
      }
    }
  }
  if (-not $env:NO_DEB -and (Test-Path (Join-Path $out "gateway-linux-x64"))) {
    if ((Get-Command bash -ErrorAction SilentlyContinue) -and (Get-Command dpkg-deb -ErrorAction SilentlyContinue)) {
      bash packaging/deb/build-deb.sh $out $version
      if ($LASTEXITCODE) { Fail "publish: the .deb failed (packaging/deb/build-deb.sh)" $LASTEXITCODE }
    } else {
      [Console]::Error.WriteLine("publish: no .deb: it needs bash and dpkg-deb (Linux; apt-get install dpkg); NO_DEB=1 silences this")
    }
  }
  $sums = Get-ChildItem -File $out | Where-Object { $_.Name -match '\.(tar\.gz|zip|deb)$' } | Sort-Object Name | ForEach-Object {
    "{0}  {1}" -f (Get-FileHash -Algorithm SHA256 $_.FullName).Hash.ToLowerInvariant(), $_.Name
  }
  [IO.File]::WriteAllText((Join-Path $out "SHA256SUMS"), $(if ($sums) { ($sums -join "`n") + "`n" } else { "" }))
  Write-Output "publish: done; ${out}:"
  Get-Content (Join-Path $out "SHA256SUMS")
  exit 0
}

switch ($Verb) {
  "build" { Invoke-Build $Rest; exit 0 }
  "test" { Invoke-Test $Rest }
  "results" {
    if ($Rest.Count -ne 1) { [Console]::Error.WriteLine("usage: ./build.ps1 results DIR (a test run's folder, e.g. artifacts/test-results)"); exit 2 }
    exit (Write-TestSummary $Rest[0])
  }
  "run" { Invoke-Run $Rest }
  "load" { Invoke-Load $Rest }
  "bench" { Invoke-Bench $Rest }
  "publish" { Invoke-Publish $Rest }
  { $_ -in "help", "-h", "--help" } { Write-Output $Usage; exit 0 }
  default { [Console]::Error.WriteLine($Usage); exit 2 }
}
