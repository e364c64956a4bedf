<#
.SYNOPSIS
    Builds and tests QmailPS. A thin wrapper over the dotnet commands CI runs (CI does not need pwsh).
.EXAMPLE
    ./build.ps1                   # Release build; the module is staged in out/QmailPS
.EXAMPLE
    ./build.ps1 -Task Test        # dotnet test (xunit, hosts PowerShell in-process)
.EXAMPLE
    ./build.ps1 -Task Pester      # Pester tests against out/QmailPS, when Pester 5 is installed
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
            Invoke-Dotnet test -c $Configuration
        }
        'Pester' {
            if (-not (Get-Module -ListAvailable Pester | Where-Object Version -ge '5.0')) {
                Write-Warning 'Pester 5 is not installed (Install-Module Pester -MinimumVersion 5.0); skipping the Pester tests.'
                continue
            }
            Invoke-Dotnet build -c $Configuration
            $config = New-PesterConfiguration
            $config.Run.Path = Join-Path $PSScriptRoot 'tests/Pester'
            $config.Run.Throw = $true
            $config.Output.Verbosity = 'Detailed'
            Invoke-Pester -Configuration $config
        }
    }
}
