<#
.SYNOPSIS
    Builds and tests QmailPS: a thin wrapper over the dotnet commands, and the one test command CI runs (.ci/run).
.EXAMPLE
    ./build.ps1                   # Release build; the module is staged in out/QmailPS
.EXAMPLE
    ./build.ps1 -Task Test        # the whole test suite: xunit (dotnet test), then Pester in this pwsh; CI runs this
.EXAMPLE
    ./build.ps1 -Task Pester      # the Pester suite only, against the staged module
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Pester', 'Clean')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-Location -LiteralPath $PSScriptRoot

# Pester 5.7.1 as .ci/run restores it (tests/Pester/PesterModule.proj: a PackageDownload into the
# NuGet packages folder), else an installed Pester 5. Missing Pester is an error, never a skip.
function Import-Pester {
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $psd1 = Join-Path $packages 'pester/5.7.1/tools/Pester.psd1'
    if (-not (Test-Path -LiteralPath $psd1)) {
        & dotnet restore (Join-Path $PSScriptRoot 'tests/Pester/PesterModule.proj') --verbosity quiet | Out-Host
    }
    if (Test-Path -LiteralPath $psd1) { Import-Module $psd1 -Force; return }
    $installed = Get-Module -ListAvailable Pester | Where-Object Version -ge '5.0' | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $installed) { throw "Pester 5 is missing: neither $psd1 (dotnet restore tests/Pester/PesterModule.proj) nor an installed Pester 5." }
    Import-Module $installed.Path -Force
}

function Invoke-XunitSuite {
    $lines = [System.Collections.Generic.List[string]]::new()
    & dotnet test -c $Configuration 2>&1 | ForEach-Object { $l = "$_"; $lines.Add($l); Write-Host $l }
    $code = $LASTEXITCODE
    $r = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; ExitCode = $code }
    foreach ($l in $lines) {
        if ($l -match '(Passed|Failed)!\s+-\s+Failed:\s+(\d+),\s+Passed:\s+(\d+),\s+Skipped:\s+(\d+)') {
            $r.Failed += [int]$Matches[2]; $r.Passed += [int]$Matches[3]; $r.Skipped += [int]$Matches[4]
        }
    }
    # A build failure or a crashed test host prints no summary: count it as a failure. A crashed host
    # can also leave a 'Passed!' summary of the tests that ran before it, and exit code 0.
    if ($code -ne 0 -and $r.Failed -eq 0) { $r.Failed = 1 }
    if ($lines -match 'Test Run Aborted|The active test run was aborted|test host process crashed') { $r.Failed += 1; if ($r.ExitCode -eq 0) { $r.ExitCode = 1 } }
    $r
}

function Invoke-PesterSuite {
    $r = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; Error = $false }
    try {
        Import-Pester
        $config = New-PesterConfiguration
        $config.Run.Path = Join-Path $PSScriptRoot 'tests/Pester'
        $config.Run.PassThru = $true
        $config.Output.Verbosity = 'Detailed'
        # The suite imports the module this configuration staged.
        $env:QMAILPS_MODULE_DIR = Join-Path $PSScriptRoot $(if ($Configuration -eq 'Release') { 'out/QmailPS' } else { 'out/Debug/QmailPS' })
        $result = Invoke-Pester -Configuration $config
        $r.Passed = $result.PassedCount; $r.Failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
        $r.Skipped = $result.SkippedCount + $result.NotRunCount
        if ($result.Result -ne 'Passed' -and $r.Failed -eq 0) { $r.Failed = 1 }
    }
    catch {
        Write-Host "Pester could not run: $_"
        $r.Error = $true; $r.Failed += 1
    }
    $r
}

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

foreach ($t in $Task) {
    switch ($t) {
        'Clean' {
            Invoke-Dotnet clean -c $Configuration
            Remove-Item -Recurse -Force -ErrorAction SilentlyContinue ./out
        }
        'Build' {
            Invoke-Dotnet build -c $Configuration
            Write-Host "Module staged in $(Join-Path $PSScriptRoot 'out/QmailPS')"
        }
        'Test' {
            # The README's one test command: the xunit suite, then the Pester suite in this real pwsh.
            # Either failing fails the run; the last line adds both up.
            $xunit = Invoke-XunitSuite
            $pester = Invoke-PesterSuite
            Write-Host ("xunit: {0} passed, {1} failed, {2} skipped" -f $xunit.Passed, $xunit.Failed, $xunit.Skipped)
            Write-Host ("Pester: {0} passed, {1} failed, {2} skipped" -f $pester.Passed, $pester.Failed, $pester.Skipped)
            $failed = $xunit.Failed + $pester.Failed
            Write-Host ("Total: {0} passed, {1} failed, {2} skipped" -f ($xunit.Passed + $pester.Passed), $failed, ($xunit.Skipped + $pester.Skipped))
            if ($failed -gt 0 -or $xunit.ExitCode -ne 0 -or $pester.Error) { exit 1 }
        }
        'Pester' {
            Invoke-Dotnet build -c $Configuration
            $pester = Invoke-PesterSuite
            Write-Host ("Pester: {0} passed, {1} failed, {2} skipped" -f $pester.Passed, $pester.Failed, $pester.Skipped)
            if ($pester.Failed -gt 0 -or $pester.Error) { exit 1 }
        }
    }
}
