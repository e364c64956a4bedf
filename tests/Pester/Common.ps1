# Dot-sourced by every Pester file: imports the staged module (QMAILPS_MODULE_DIR, set by build.ps1,
# else out/QmailPS of this repository) and defines the helpers the suites share.
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:ModuleDir = if ($env:QMAILPS_MODULE_DIR) { $env:QMAILPS_MODULE_DIR } else { Join-Path $RepoRoot 'out/QmailPS' }
Import-Module (Join-Path $ModuleDir 'QmailPS.psd1') -Force
