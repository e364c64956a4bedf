# Pester 5 tests for people with pwsh: they import the staged module exactly as a user would.
# CI runs the xunit suite (dotnet test), which covers the same ground in-process.
BeforeAll {
    $root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    Import-Module (Join-Path $root 'out/QmailPS/QmailPS.psd1') -Force
    $golden = Join-Path $root '../shared/golden/processed'
}

Describe 'QmailPS module' {
    It 'imports without warnings and exports the reader cmdlets' {
        $cmds = (Get-Module QmailPS).ExportedCmdlets.Keys
        $cmds | Should -Contain 'Get-QmailQueueMessage'
        $cmds | Should -Contain 'Get-QmailQueueSummary'
        $cmds | Should -Contain 'ConvertTo-QmailQread'
    }

    It 'has help for every cmdlet' {
        foreach ($c in (Get-Module QmailPS).ExportedCmdlets.Keys) {
            (Get-Help $c).Synopsis | Should -Not -BeNullOrEmpty
            (Get-Help $c).Examples | Should -Not -BeNullOrEmpty
        }
    }

    It 'reports a path that is not a queue with QmailNotAQueue' {
        { Get-QmailQueueMessage -QueuePath $TestDrive -ErrorAction Stop } | Should -Throw -ErrorId 'QmailNotAQueue,QmailPS.Commands.GetQmailQueueMessageCommand'
    }
}

Describe 'Golden queue' {
    BeforeAll {
        $home = Join-Path $TestDrive 'qmail'
        New-Item -ItemType Directory $home | Out-Null
        tar -xpzf (Join-Path $golden 'queue-processed.tar.gz') -C $home
        $q = Join-Path $home 'queue'
    }

    It 'prints what qmail-qread printed' {
        $ours = (Get-QmailQueueMessage -QueuePath $q | ConvertTo-QmailQread) -join "`n"
        $theirs = (Get-Content -Raw (Join-Path $golden 'qmail-qread.txt')).TrimEnd("`n")
        ($ours -split "`n" | Sort-Object) | Should -Be ($theirs -split "`n" | Sort-Object)
    }

    It 'counts what qmail-qstat counted' {
        $s = Get-QmailQueueSummary -QueuePath $q
        "messages in queue: $($s.MessagesInQueue)" | Should -Be (Get-Content (Join-Path $golden 'qmail-qstat.txt'))[0]
    }
}
