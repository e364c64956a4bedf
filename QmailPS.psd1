@{
    RootModule           = 'QmailPS.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6722a161-5adf-45aa-8742-15633ee71a6e'
    Author               = 'QmailPS contributors'
    CompanyName          = 'QmailPS'
    Copyright            = '(c) QmailPS contributors. MIT License.'
    Description          = 'Inspect and repair the qmail mail queue, stop stuck deliveries and manage remote-host timeouts on Linux, with typed objects instead of qmail-qread/qmail-qstat text. Reads the queue exactly as qmail-send does.'
    PowerShellVersion    = '7.2'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('QmailPS.Format.ps1xml', 'Process.Format.ps1xml', 'TcpTo.Format.ps1xml')
    TypesToProcess       = @('QmailPS.Types.ps1xml')
    CmdletsToExport      = @(
        'Get-QmailQueueMessage'
        'Get-QmailQueueSummary'
        'ConvertTo-QmailQread'
        'New-QmailQueue'
        'Add-QmailQueueMessage'
        'Remove-QmailQueueMessage'
        'Set-QmailMessageAge'
        'Start-QmailRedelivery'
        'Get-QmailMessageContent'
        'Test-QmailQueue'
        'Repair-QmailQueue'
        'Get-QmailProcess'
        'Stop-QmailZombie'
        'Get-QmailTcpTo'
        'Clear-QmailTcpTo'
        'Export-QmailMetric'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('qmail', 'notqmail', 'netqmail', 'mail', 'queue', 'MTA', 'postmaster', 'Linux', 'PSEdition_Core')
            # No ProjectUri or LicenseUri: the project has no public repository yet, and a URI that
            # points nowhere is worse than none. The licence is the LICENSE file shipped in the module.
        }
    }
}
