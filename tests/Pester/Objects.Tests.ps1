# What a user types in real pwsh: member enumeration, times, the null sender, exports and
# serialization, header objects, the summary's damaged figure (issue 12 findings 1, 2, 3, 6, 7, 14;
# issue 13 item 1).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
}

Describe 'Recipients' {
    BeforeAll { $q = Join-Path (New-DemoHome $TestDrive) 'queue' }

    It '(Get-QmailQueueMessage).Recipients.Address lists addresses, not the array Address() method' {
        $all = (Get-QmailQueueMessage -QueuePath $q).Recipients.Address
        $all | Should -Contain 'bob@example.test'
        $all | Should -Contain 'a2@ok.test'
        $all | ForEach-Object { $_ | Should -BeOfType [string] }
        @($all).Count | Should -Be @((Get-QmailQueueMessage -QueuePath $q) | ForEach-Object { $_.Recipients } ).Count
    }

    It 'filters with Where-Object { $_.Recipients.Address -like ... }' {
        $hits = @(Get-QmailQueueMessage -QueuePath $q | Where-Object { $_.Recipients.Address -like '*@ok.test' })
        $hits.Count | Should -BeGreaterThan 0
        $hits.Id | Should -Be @(Get-QmailQueueMessage -QueuePath $q -Recipient '*@ok.test').Id
    }

    It 'the Address member arrays get for this is hidden: arrays still convert to JSON as arrays' {
        Write-Output -NoEnumerate @(1, 2) | ConvertTo-Json -Compress | Should -Be '[1,2]'
        (@(1, 2) | Get-Member -MemberType ScriptProperty) | Should -BeNullOrEmpty
        @([pscustomobject]@{ Address = 'x' }, [pscustomobject]@{ Address = 'y' }).Address | Should -Be @('x', 'y')
    }

    It 'one message: .Recipients.Address, .Count and indexing work on the collection' {
        $m = Get-QmailQueueMessage -QueuePath $q -Id 836823
        $m.Recipients.Address | Should -Be @('bob@example.test', 'defer@example.test', 'd4@refuse.test', 'e4@ok.test')
        $m.Recipients.Count | Should -Be 4
        $m.Recipients[0].Delivered | Should -BeTrue
        $m.Recipients.ToString() | Should -Be 'bob@example.test, defer@example.test, d4@refuse.test, e4@ok.test'
    }
}

Describe 'Times follow FileInfo' {
    BeforeAll { $qmailHome = New-DemoHome $TestDrive; $q = Join-Path $qmailHome 'queue' }

    It 'QueuedAt is local (Kind Local) and QueuedAtUtc is the same instant in UTC, in a TZ=Asia/Tokyo child pwsh' {
        $out = Invoke-ChildPwsh -Environment @{ TZ = 'Asia/Tokyo' } -Script @"
`$m = Get-QmailQueueMessage -QueuePath '$q' -Id 836823
"offset=" + [TimeZoneInfo]::Local.GetUtcOffset([datetime]::UtcNow).TotalHours
"kind=" + `$m.QueuedAt.Kind + "," + `$m.QueuedAtUtc.Kind + "," + `$m.NextAttempt.Kind + "," + `$m.NextAttemptUtc.Kind
"same=" + (`$m.QueuedAt.ToUniversalTime() -eq `$m.QueuedAtUtc)
"local=" + `$m.QueuedAt.ToString('yyyy-MM-dd HH:mm')
"utc=" + `$m.QueuedAtUtc.ToString('yyyy-MM-dd HH:mm')
"table=" + ((Get-QmailQueueMessage -QueuePath '$q' -Id 836823 | Out-String -Width 200) -match [regex]::Escape(`$m.QueuedAt.ToString('yyyy-MM-dd HH:mm')))
`$age = [datetime]::UtcNow - `$m.QueuedAtUtc
"older=" + @(Get-QmailQueueMessage -QueuePath '$q' -Id 836823 | Where-Object { `$_.QueuedAt -lt (Get-Date).Add(-`$age).AddHours(1) }).Count + "," + @(Get-QmailQueueMessage -QueuePath '$q' -Id 836823 | Where-Object { `$_.QueuedAt -lt (Get-Date).Add(-`$age).AddHours(-1) }).Count
"filter=" + @(Get-QmailQueueMessage -QueuePath '$q' -OlderThan (`$age - [timespan]::FromHours(1)) | Where-Object Id -eq 836823).Count + "," + @(Get-QmailQueueMessage -QueuePath '$q' -OlderThan (`$age + [timespan]::FromHours(1)) | Where-Object Id -eq 836823).Count
"summary=" + (Get-QmailQueueSummary -QueuePath '$q').OldestQueuedAt.Kind
"@
        $out | Should -Contain 'offset=9'
        $out | Should -Contain 'kind=Local,Utc,Local,Utc'
        $out | Should -Contain 'same=True'
        $out | Should -Contain 'local=2026-11-23 08:21'
        $out | Should -Contain 'utc=2026-11-22 23:21'
        $out | Should -Contain 'table=True'
        # Where-Object on local times and -OlderThan agree: within the hour either side of the birth.
        $out | Should -Contain 'older=1,0'
        $out | Should -Contain 'filter=1,0'
        $out | Should -Contain 'summary=Local'
    }

    It 'tcpto entries have local LastTimeout and LastTimeoutUtc' {
        $e = Get-QmailTcpTo -QueuePath $q | Select-Object -First 1
        $e.LastTimeout.Kind | Should -Be 'Local'
        $e.LastTimeoutUtc.Kind | Should -Be 'Utc'
        $e.LastTimeout.ToUniversalTime() | Should -Be $e.LastTimeoutUtc
    }
}

Describe "-Sender '<>' is the null sender" {
    BeforeAll { $q = Join-Path (New-DemoHome $TestDrive) 'queue' }

    It "Get-QmailQueueMessage -Sender '<>' finds the bounces, as -Sender '' does" {
        $bounces = @(Get-QmailQueueMessage -QueuePath $q -Sender '<>')
        $bounces.Id | Should -Be @(836821)
        $bounces.Id | Should -Be @(Get-QmailQueueMessage -QueuePath $q -Sender '').Id
        @(Get-QmailQueueMessage -QueuePath $q -Sender '<>', 'bob@example.test').Count | Should -Be 3
    }

    It "Add-QmailQueueMessage -Sender '<>' queues a bounce (empty sender)" {
        $new = Join-Path $TestDrive 'addq'
        New-QmailQueue $new -Confirm:$false | Out-Null
        $m = 'Subject: x', '', 'body' | Add-QmailQueueMessage -QueuePath $new -Sender '<>' -Recipient 'a@example.test' -Confirm:$false
        $m.Sender | Should -Be ''
        $m.IsBounce | Should -BeTrue
        (Get-QmailQueueMessage -QueuePath $new -Sender '<>').Id | Should -Be $m.Id
    }

    It "Repair-QmailQueue -RecoverySender '<>' recovers a message with the null sender" {
        $q2 = Join-Path (New-DemoHome $TestDrive) 'queue'
        # 836823 loses its info file (ChannelWithoutInfo): the repair re-creates it with the recovery sender.
        Remove-Item (Join-Path $q2 'info/*/836823') -Force
        Repair-QmailQueue -QueuePath $q2 -RecoverySender '<>' -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        $recovered = @(Get-QmailQueueMessage -QueuePath $q2 | Where-Object { $_.Recipients.Address -contains 'e4@ok.test' })
        $recovered.Count | Should -Be 1
        $recovered[0].Sender | Should -Be ''
        $recovered[0].IsBounce | Should -BeTrue
    }
}

Describe 'Export-Csv, ConvertTo-Json and CliXml read as text' {
    BeforeAll { $q = Join-Path (New-DemoHome $TestDrive) 'queue' }

    It 'Export-Csv writes Recipients as "a@x, b@y"' {
        $csv = Join-Path $TestDrive 'm.csv'
        Get-QmailQueueMessage -QueuePath $q -Id 836823 | Export-Csv -LiteralPath $csv
        $row = Import-Csv -LiteralPath $csv
        $row.Recipients | Should -Be 'bob@example.test, defer@example.test, d4@refuse.test, e4@ok.test'
        $row.State | Should -Be 'Queued'
    }

    It 'ConvertTo-Json writes State, Channel and Severity as names' {
        $j = Get-QmailQueueMessage -QueuePath $q -Id 836825 | ConvertTo-Json -Depth 3 | ConvertFrom-Json
        $j.State | Should -Be 'Bouncing'
        $j.Recipients[0].Channel | Should -BeIn 'Local', 'Remote'
        $i = Test-QmailQueue -QueuePath $q | Select-Object -First 1 | ConvertTo-Json | ConvertFrom-Json
        $i.Severity | Should -BeOfType [string]
        $i.Kind | Should -BeOfType [string]
    }

    It 'Start-Job: enum names, nested recipients, the same qmail-qread text and the same view' {
        $live = Get-QmailQueueMessage -QueuePath $q
        $job = Start-Job -ScriptBlock { param($m, $q) Import-Module $m; Get-QmailQueueMessage -QueuePath $q } -ArgumentList (Join-Path $ModuleDir 'QmailPS.psd1'), $q
        $got = @($job | Wait-Job -Timeout 120 | Receive-Job)
        $job | Remove-Job -Force
        $got.Count | Should -Be $live.Count
        $got[0].pstypenames[0] | Should -Be 'Deserialized.QmailPS.QueueMessage'
        @($got | Where-Object State -eq Bouncing).Id | Should -Be @(836825)
        ($got | Where-Object Id -eq 836823).Recipients.Address | Should -Be @('bob@example.test', 'defer@example.test', 'd4@refuse.test', 'e4@ok.test')
        ($got | Where-Object Id -eq 836823).Recipients[0].Channel | Should -Be 'Local'
        ($got | ConvertTo-QmailQread) | Should -Be ($live | ConvertTo-QmailQread)
        # the job's view names the host each message is on (localhost for a job), still within 80 columns
        $view = $got | Out-String -Width 80
        $view | Should -Match '(?m)^PSComputerName +Id +QueuedAt'
        @($view -split "`n" | Where-Object { $_ -match '^localhost +\d+ ' }).Count | Should -Be $live.Count
        ($view -split "`n" | Where-Object { $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty
    }

    It 'Start-Job: findings and tcpto entries name their host first, within 80 columns' {
        $m = Join-Path $ModuleDir 'QmailPS.psd1'
        foreach ($script in 'Test-QmailQueue -QueuePath $q', 'Get-QmailTcpTo -QueuePath $q') {
            $job = Start-Job -ScriptBlock ([scriptblock]::Create("param(`$m, `$q) Import-Module `$m; $script")) -ArgumentList $m, $q
            $got = @($job | Wait-Job -Timeout 120 | Receive-Job)
            $job | Remove-Job -Force
            $got.Count | Should -BeGreaterThan 0 -Because $script
            $view = $got | Out-String -Width 80
            $view | Should -Match '(?m)^PSComputerName ' -Because $script
            $view | Should -Match '(?m)^localhost ' -Because $script
            ($view -split "`n" | Where-Object { $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty -Because $script
        }
        # the tcpto addresses are whole at 80 columns
        $job = Start-Job -ScriptBlock { param($m, $q) Import-Module $m; Get-QmailTcpTo -QueuePath $q } -ArgumentList $m, $q
        $t = @($job | Wait-Job -Timeout 120 | Receive-Job); $job | Remove-Job -Force
        ($t | Out-String -Width 80) | Should -Match ([regex]::Escape("$($t[0].Address)") + ' ')
    }

    It 'Export-Clixml/Import-Clixml keep Severity and Kind names' {
        $x = Join-Path $TestDrive 'i.xml'
        Test-QmailQueue -QueuePath $q | Export-Clixml -LiteralPath $x
        $back = Import-Clixml -LiteralPath $x
        @($back | Where-Object Severity -eq Danger).Count | Should -Be @(Test-QmailQueue -QueuePath $q | Where-Object Severity -eq Danger).Count
        @($back | Where-Object Kind -eq IdNotInode).Count | Should -BeGreaterThan 0
    }
}

Describe 'Header objects' {
    BeforeAll { $q = Join-Path (New-DemoHome $TestDrive) 'queue' }

    It 'carry the message Id and QueuePath' {
        $h = @(Get-QmailMessageContent -QueuePath $q -Id 836823, 836825 -HeaderOnly)
        ($h.Id | Sort-Object -Unique) | Should -Be @(836823, 836825)
        ($h.QueuePath | Sort-Object -Unique) | Should -Be $q
    }

    It 'pipe by property name to Get-QmailQueueMessage' {
        $ids = Get-QmailMessageContent -QueuePath $q -Id 836823 -HeaderOnly | Where-Object Name -eq 'Subject' | Get-QmailQueueMessage
        $ids.Id | Should -Be 836823
    }

    It 'are grouped by message in the table' {
        $text = Get-QmailMessageContent -QueuePath $q -Id 836823, 836825 -HeaderOnly | Out-String -Width 80
        $text | Should -Match 'Message: 836823'
        $text | Should -Match 'Message: 836825'
    }
}

Describe "The summary's damaged figure" {
    BeforeAll {
        $q = Join-Path (New-DemoHome $TestDrive) 'queue'
        # Two damaged messages: mess file gone, remote file emptied.
        Remove-Item (Join-Path $q 'mess/*/836825') -Force
        Set-Content -LiteralPath (Get-Item (Join-Path $q 'remote/*/836819')).FullName -Value $null -NoNewline
    }

    It 'counts the messages in state Damaged, each a Test-QmailQueue finding, and says so' {
        $s = Get-QmailQueueSummary -QueuePath $q -WarningAction SilentlyContinue
        $damaged = @(Get-QmailQueueMessage -QueuePath $q -State Damaged -WarningAction SilentlyContinue)
        $damaged.Id | Sort-Object | Should -Be @(836819, 836825)
        $s.Damaged | Should -Be $damaged.Count
        $found = @(Test-QmailQueue -QueuePath $q | Where-Object Severity -in Danger, Stuck).Id
        foreach ($id in $damaged.Id) { $found | Should -Contain $id }
        ($s | Out-String) | Should -Match '2 in state Damaged'
    }
}
