# Dot-sourced by every Pester file: imports the staged module (QMAILPS_MODULE_DIR, set by build.ps1,
# else out/QmailPS of this repository) and defines the helpers the suites share.
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:ModuleDir = if ($env:QMAILPS_MODULE_DIR) { $env:QMAILPS_MODULE_DIR } else { Join-Path $RepoRoot 'out/QmailPS' }
Import-Module (Join-Path $ModuleDir 'QmailPS.psd1') -Force

# A copy of the golden notqmail queue (10 processed messages, one bouncing, a bounce and a double
# bounce, partly delivered recipients, a lock/tcpto with two hosts) as a qmail home: <dir>/queue.
function New-DemoHome([string] $Parent) {
    $qmailHome = Join-Path $Parent ('qmail-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
    New-Item -ItemType Directory $qmailHome | Out-Null
    tar -xpzf (Join-Path $RepoRoot 'tests/golden/processed/queue-processed.tar.gz') -C $qmailHome
    if ($LASTEXITCODE -ne 0) { throw "tar failed: $LASTEXITCODE" }
    $qmailHome
}

# Runs a script in a child pwsh -NonInteractive with the staged module imported; returns its output lines.
function Invoke-ChildPwsh([string] $Script, [hashtable] $Environment = @{}) {
    # This pwsh (the dotnet global tool's apphost sits in $PSHOME; the process itself is dotnet).
    $pwsh = Join-Path $PSHOME 'pwsh'
    $full = "`$ErrorActionPreference = 'Continue'; Import-Module '$ModuleDir/QmailPS.psd1'`n$Script"
    $file = Join-Path ([IO.Path]::GetTempPath()) ("qmailps-child-" + [guid]::NewGuid().ToString('n') + '.ps1')
    Set-Content -LiteralPath $file -Value $full
    $saved = @{}
    try {
        foreach ($k in $Environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $Environment[$k]) }
        & $pwsh -NoProfile -NonInteractive -File $file 2>&1 | ForEach-Object { "$_" }
    }
    finally {
        foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
        Remove-Item -LiteralPath $file -ErrorAction SilentlyContinue
    }
}

# A TCP port free on loopback now, for a server a test starts (sshd, node_exporter).
function Get-FreeTcpPort {
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $l.Start(); try { $l.LocalEndpoint.Port } finally { $l.Stop() }
}
