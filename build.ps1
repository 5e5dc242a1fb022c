# Relay build script for Windows. Same verbs as build.sh: build | test | run | bench
param([Parameter(Position = 0)][string]$Verb = "", [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest)
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot
$config = if ($env:CONFIG) { $env:CONFIG } else { "Release" }
$usage = @"
usage: ./build.ps1 VERB [args]
  build                 build every project (Release; `$env:CONFIG=Debug for debug)
  test                  run every test suite, print "tests: N passed, N failed, N skipped"
  run                   start core-sim and one gateway on this machine (Ctrl-C stops)
  bench                 BenchmarkDotNet codec benchmarks (bench codec|throughput: the same tool's other runs)
  bench attack          legitimate sessions through a gateway without and with a connection flood (Linux loopback)
  help                  this list
"@
switch ($Verb) {
  "build" { dotnet build Relay.sln -c $config -nologo @Rest; exit $LASTEXITCODE }
  "test" {
    $results = Join-Path $PSScriptRoot "artifacts/test-results"
    Remove-Item -Recurse -Force $results -ErrorAction SilentlyContinue
    dotnet build Relay.sln -c $config -nologo; if ($LASTEXITCODE) { exit $LASTEXITCODE }
    $rc = 0
    foreach ($proj in Get-ChildItem tests/*/*.Tests.csproj) {
      dotnet test $proj.FullName -c $config --no-build --logger "trx;LogFileName=$($proj.BaseName).trx" --results-directory $results @Rest
      if ($LASTEXITCODE) { $rc = 1 }
    }
    $passed = 0; $failed = 0; $total = 0; $notRun = @()
    foreach ($trx in Get-ChildItem "$results/*.trx") {
      $run = ([xml](Get-Content $trx)).TestRun
      $c = $run.ResultSummary.Counters
      $total += [int]$c.total; $passed += [int]$c.passed; $failed += [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted
      # Tests that did not run (ignored, inconclusive: outcome NotExecuted), with their reasons.
      $notRun += @($run.Results.UnitTestResult | Where-Object { $_.outcome -notin "Passed", "Failed", "Error", "Timeout", "Aborted" } |
        ForEach-Object { "  $($trx.BaseName): $($_.testName): $($_.Output.ErrorInfo.Message)" })
    }
    $skipped = $total - $passed - $failed
    if ($skipped -gt 0) {
      # Under CI every suite must really run: a test that did not run counts as a failure.
      if ($env:CI -eq "true") { Write-Output "build.ps1: CI=true and $skipped test(s) did not run; each counts as a failure:"; $failed += $skipped; $skipped = 0 }
      else { Write-Output "build.ps1: $skipped test(s) skipped:" }
      $notRun | ForEach-Object { Write-Output $_ }
    }
    if ($rc -ne 0 -and $failed -eq 0) { $failed = 1 }
    Write-Output "tests: $passed passed, $failed failed, $skipped skipped"
    if ($failed -ne 0) { exit 1 }; exit 0
  }
  "bench" {
    if ($Rest -and $Rest[0] -eq "attack") {
      # The flood binds 127.0.x.y source addresses: Linux loopback only (on Windows only 127.0.0.1 answers by default).
      dotnet build Relay.sln -c Release -nologo -v quiet; if ($LASTEXITCODE) { exit $LASTEXITCODE }
      dotnet tools/Relay.AttackBench/bin/Release/net10.0/Relay.AttackBench.dll @($Rest | Select-Object -Skip 1); exit $LASTEXITCODE
    }
    dotnet run -c Release --project bench/Relay.Benchmarks -- @Rest; exit $LASTEXITCODE
  }
  "run" {
    dotnet build Relay.sln -c $config -nologo; if ($LASTEXITCODE) { exit $LASTEXITCODE }
    $key = [Convert]::ToBase64String([Security.Cryptography.RandomNumberGenerator]::GetBytes(32)); $run = Join-Path $PSScriptRoot "artifacts/run"; New-Item -ItemType Directory -Force $run | Out-Null
    $core = Start-Process dotnet -ArgumentList "core-sim/bin/$config/net10.0/Relay.CoreSim.dll", "--environment", "Development", "--CoreSim:RelayKeys:relay-local=$key", "--CoreSim:PublicKeyPath=$run/core-public.pem" -PassThru -NoNewWindow
    while (-not (Test-Path "$run/core-public.pem")) { Start-Sleep -Milliseconds 200 }
    $gw = Start-Process dotnet -ArgumentList "gateway/bin/$config/net10.0/Relay.Gateway.dll", "--Gateway:PublicKeyPath=$run/core-public.pem", "--Gateway:Backhaul:SharedKey=$key", "--Gateway:Backhaul:RelayId=relay-local" -PassThru -NoNewWindow
    Write-Output "gateway ws://127.0.0.1:8080/ws   core-sim http://127.0.0.1:7080/   tokens: POST http://127.0.0.1:7080/v1/tokens"
    try { Wait-Process -Id $gw.Id } finally { Stop-Process -Id $gw.Id, $core.Id -ErrorAction SilentlyContinue }
  }
  { $_ -in "help", "-h", "--help" } { Write-Output $usage; exit 0 }
  default { [Console]::Error.WriteLine($usage); exit 2 }
}
