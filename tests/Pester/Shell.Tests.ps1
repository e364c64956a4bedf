# The shell around the objects: views at 80 and 200 columns, tab completion, progress, and
# New-QmailQueue/-QueuePath habits (issue 12 findings 8, 9, 10, 11).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
}

Describe 'Views at 80 and 200 columns' {
    BeforeAll { $q = Join-Path (New-DemoHome $TestDrive) 'queue' }

    It 'the message table keeps State at 80 columns and widens Sender and Recipients at 200' {
        $narrow = (Get-QmailQueueMessage -QueuePath $q | Out-String -Width 80) -split "`n"
        ($narrow | Where-Object { $_ -match '^\s+Id\s' }) | Should -Match 'State\s*$'
        ($narrow | Where-Object { $_ -match '^\s+836825\s' }) | Should -Match 'Bouncing\s*$'
        $narrow | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
        $wide = Get-QmailQueueMessage -QueuePath $q | Out-String -Width 200
        $wide | Should -Match 'sender9@client\.test'
        $wide | Should -Match 'defer@example\.test \(\+1\)'
    }

    It 'the Recipients column shows the first pending recipient, not a delivered one' {
        # 836823: bob@example.test is delivered; defer@example.test and d4@refuse.test are pending.
        $line = (Get-QmailQueueMessage -QueuePath $q -Id 836823 | Out-String -Width 200) -split "`n" | Where-Object { $_ -match '^\s+836823\s' }
        $line | Should -Match 'defer@example\.test \(\+1\)'
        $line | Should -Not -Match 'bob@example\.test'
    }

    It "Test-QmailQueue's Kind column is wider than every QueueIssueKind name, so it never wraps" {
        # ChannelDuplicateRecipient (25) is the longest kind the inspector is getting; the column must hold it too.
        $longest = ((@([enum]::GetNames([QmailPS.QueueIssueKind])) + 'ChannelDuplicateRecipient') | Measure-Object -Maximum -Property Length).Maximum
        [xml] $format = Get-Content -Raw (Join-Path $ModuleDir 'QmailPS.Format.ps1xml')
        foreach ($view in 'QmailPS.QueueIssue', 'QmailPS.RepairAction') {
            $kind = $format.Configuration.ViewDefinitions.View | Where-Object Name -eq $view |
                ForEach-Object { $_.TableControl.TableHeaders.TableColumnHeader } | Where-Object Label -eq 'Kind'
            [int] $kind.Width | Should -BeGreaterThan $longest
        }
        $text = Test-QmailQueue -QueuePath $q | Out-String -Width 80
        $text | Should -Match 'IdNotInode'
        foreach ($line in $text -split "`n" | Where-Object { $_ -match '^(Danger|Stuck|Degraded|Garbage|Cosmetic|Transient)\s' }) {
            $line.Substring(10, 26).Trim() | Should -BeIn ([enum]::GetNames([QmailPS.QueueIssueKind]))
        }
    }

    It 'the tcpto table keeps Age and IsSkipped visible at 80 columns' {
        $lines = (Get-QmailTcpTo -QueuePath $q | Out-String -Width 80) -split "`n"
        ($lines | Where-Object { $_ -match '^Address' }) | Should -Match 'Age\s+IsSkipped\s*$'
        ($lines | Where-Object { $_ -match '^127\.0\.0\.66' }) | Should -Match '\d+d \d\d:\d\d:\d\d (True|False)\s*$'
    }

    It 'Format-List and Format-Table of the summary and of deserialized objects render' {
        (Get-QmailQueueSummary -QueuePath $q | Out-String -Width 80) | Should -Match 'messages in queue: 10'
        $x = Join-Path $TestDrive 's.xml'
        Get-QmailQueueSummary -QueuePath $q | Export-Clixml -LiteralPath $x
        (Import-Clixml -LiteralPath $x | Out-String -Width 80) | Should -Match 'messages in queue: 10'
    }
}

Describe 'Tab completion' {
    BeforeAll {
        $qmailHome = New-DemoHome $TestDrive
        $q = Join-Path $qmailHome 'queue'
        function Complete([string] $line) { (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches }
    }

    It '-Id completes the ids of the queue named by -QueuePath' {
        $m = Complete "Get-QmailQueueMessage -QueuePath '$q' -Id 83682"
        $m.CompletionText | Should -Be @('836821', '836823', '836825')
        (Complete "Remove-QmailQueueMessage -QueuePath '$q' -Id ").CompletionText | Should -Contain '836118'
        (Complete "Get-QmailMessageContent -QueuePath '$q' -Id 8361").CompletionText | Should -Be @('836118')
    }

    It '-Sender and -Recipient complete addresses of that queue (quoted when needed)' {
        (Complete "Get-QmailQueueMessage -QueuePath '$q' -Sender ali").CompletionText | Should -Be @('alice@example.test')
        (Complete "Get-QmailQueueMessage -QueuePath '$q' -Sender ").CompletionText | Should -Contain "'<>'"
        (Complete "Get-QmailQueueMessage -QueuePath '$q' -Sender ").CompletionText | Should -Contain "'#@[]'"
        (Complete "Get-QmailQueueMessage -QueuePath '$q' -Recipient a2").CompletionText | Should -Be @('a2@ok.test')
    }

    It '-QueuePath completes directories that are queues, and the queue of a qmail home' {
        $parent = Split-Path $qmailHome
        (Complete "Get-QmailQueueSummary -QueuePath $qmailHome/").CompletionText | Should -Be @("$qmailHome/queue")
        (Complete "Get-QmailQueueSummary -QueuePath $parent/").CompletionText | Should -Contain "$qmailHome/queue"
        New-Item -ItemType Directory (Join-Path $parent 'not-a-queue') | Out-Null
        (Complete "Get-QmailQueueSummary -QueuePath $parent/not").CompletionText | Should -BeNullOrEmpty
    }
}

Describe 'Progress while todo/ is read' {
    It 'reports progress inside todo/ with a slow consumer' {
        $q = Join-Path $TestDrive 'todoq'
        New-QmailQueue $q -Confirm:$false | Out-Null
        # 600 unprocessed messages: three chunks of todo/.
        1..600 | ForEach-Object { "Subject: $_", '', 'body' | Add-QmailQueueMessage -QueuePath $q -Sender 'a@example.test' -Recipient 'b@example.test' -Confirm:$false } | Out-Null
        # The cmdlet reuses one ProgressRecord, so the records are copied as they arrive.
        if (-not ('QmailPSTest.ProgressTap' -as [type])) {
            Add-Type -TypeDefinition @'
using System.Collections.Generic;
using System.Management.Automation;
namespace QmailPSTest {
    public sealed class ProgressTap {
        public readonly List<string> Seen = new List<string>();
        public void Hook(PSDataCollection<ProgressRecord> c) {
            c.DataAdded += (s, e) => { ProgressRecord r = c[e.Index]; lock (Seen) Seen.Add(r.RecordType + "|" + r.PercentComplete + "|" + r.StatusDescription); };
        }
    }
}
'@
        }
        $tap = [QmailPSTest.ProgressTap]::new()
        $ps = [powershell]::Create()
        try {
            $tap.Hook($ps.Streams.Progress)
            $null = $ps.AddScript("Import-Module '$ModuleDir/QmailPS.psd1'; Get-QmailQueueMessage -QueuePath '$q' | ForEach-Object { Start-Sleep -Milliseconds 3 }")
            $null = $ps.Invoke()
            $ps.HadErrors | Should -BeFalse
            $inTodo = @($tap.Seen | Where-Object { $_ -match '^Processing\|.*not yet preprocessed' })
            $inTodo.Count | Should -BeGreaterThan 0
            [int] ($inTodo[0] -split '\|')[1] | Should -BeLessThan 10
            @($tap.Seen | Where-Object { $_ -like 'Completed|*' }).Count | Should -Be 1
        }
        finally { $ps.Dispose() }
    }
}

Describe 'New-QmailQueue and -QueuePath habits' {
    It 'New-QmailQueue /new/dir/queue creates the missing parents, 0755 and root-owned as root' {
        $q = Join-Path $TestDrive 'new/dir/queue'
        New-QmailQueue $q -Confirm:$false | Out-Null
        (Get-QmailQueueSummary -QueuePath $q).Messages | Should -Be 0
        foreach ($d in (Join-Path $TestDrive 'new'), (Join-Path $TestDrive 'new/dir')) {
            (Get-Item $d).UnixMode | Should -Be 'drwxr-xr-x'
            if ((id -u) -eq '0') { (Get-Item $d).User | Should -Be 'root' }
        }
    }

    It 'New-QmailQueue -WhatIf creates no parent' {
        $q = Join-Path $TestDrive 'whatif/dir/queue'
        New-QmailQueue $q -WhatIf | Out-Null
        Test-Path (Join-Path $TestDrive 'whatif') | Should -BeFalse
    }

    It "-QueuePath given the qmail home says QmailNotAQueue and suggests the queue inside it" {
        $qmailHome = New-DemoHome $TestDrive
        $err = $null
        try { Get-QmailQueueMessage -QueuePath $qmailHome -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'QmailNotAQueue,QmailPS.Commands.GetQmailQueueMessageCommand'
        $err.Exception.Message | Should -Match ([regex]::Escape("did you mean $qmailHome/queue"))
        $err.ErrorDetails.RecommendedAction | Should -Match ([regex]::Escape("-QueuePath $qmailHome/queue"))
    }
}
