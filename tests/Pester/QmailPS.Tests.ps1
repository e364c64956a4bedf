# Pester 5 tests in real pwsh: they import the staged module exactly as a user would
# (./build.ps1 -Task Test runs them after the xunit suite; CI runs that).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $golden = Join-Path $RepoRoot 'tests/golden/processed'
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

    It 'ships its MIT licence and names no URI that points nowhere' {
        $m = Test-ModuleManifest -Path (Join-Path $ModuleDir 'QmailPS.psd1')
        $m.ProjectUri | Should -BeNullOrEmpty
        $m.LicenseUri | Should -BeNullOrEmpty
        (Get-Content -TotalCount 1 (Join-Path $ModuleDir 'LICENSE')) | Should -Be 'MIT License'
    }

    It 'reports a path that is not a queue with QmailNotAQueue' {
        { Get-QmailQueueMessage -QueuePath $TestDrive -ErrorAction Stop } | Should -Throw -ErrorId 'QmailNotAQueue,QmailPS.Commands.GetQmailQueueMessageCommand'
    }
}

Describe 'Golden queue' {
    BeforeAll {
        # Not $home: that is pwsh's read-only automatic variable.
        $qmailHome = Join-Path $TestDrive 'qmail'
        New-Item -ItemType Directory $qmailHome | Out-Null
        tar -xpzf (Join-Path $golden 'queue-processed.tar.gz') -C $qmailHome
        $q = Join-Path $qmailHome 'queue'
    }

    It 'prints what qmail-qread printed' {
        $ours = (Get-QmailQueueMessage -QueuePath $q | ConvertTo-QmailQread) -join "`n"
        $theirs = (Get-Content -Raw (Join-Path $golden 'qmail-qread.txt')).TrimEnd("`n")
        ($ours -split "`n" | Sort-Object) | Should -Be ($theirs -split "`n" | Sort-Object)
    }

    It 'takes -OlderThan and -NewerThan as 3d, 12h or 90m' {
        $byTimeSpan = @(Get-QmailQueueMessage -QueuePath $q -OlderThan ([timespan]::FromDays(3))).Id
        @(Get-QmailQueueMessage -QueuePath $q -OlderThan '3d').Id | Should -Be $byTimeSpan
        @(Get-QmailQueueMessage -QueuePath $q -NewerThan '90m').Id | Should -Be @(Get-QmailQueueMessage -QueuePath $q -NewerThan '01:30:00').Id
        $byTimeSpan.Count | Should -BeGreaterThan 0
    }

    It 'counts what qmail-qstat counted' {
        $s = Get-QmailQueueSummary -QueuePath $q
        "messages in queue: $($s.MessagesInQueue)" | Should -Be (Get-Content (Join-Path $golden 'qmail-qstat.txt'))[0]
    }
}
