# Three or more tests for every exported cmdlet: its help (cmdlet and every parameter), -Confirm
# refused under -NonInteractive for those that change something (or a real run for those that only
# read), and the README's everyday examples run verbatim on a demo queue.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $cmdlets = @((Get-Module QmailPS).ExportedCmdlets.Keys | Sort-Object | ForEach-Object { @{ Name = $_ } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
    # What each cmdlet does in a child pwsh -NonInteractive: changing ones are asked to -Confirm.
    $qmailHome = New-DemoHome $TestDrive
    $q = Join-Path $qmailHome 'queue'
    $confirmScript = @"
`$q = '$q'
`$new = '$TestDrive/confirm-new'
`$runs = [ordered]@{
    'New-QmailQueue' = { New-QmailQueue `$new -Confirm -ErrorAction Stop }
    'Add-QmailQueueMessage' = { 'Subject: x', '', 'y' | Add-QmailQueueMessage -QueuePath `$q -Sender a@example.test -Recipient b@example.test -Confirm -ErrorAction Stop }
    'Remove-QmailQueueMessage' = { Remove-QmailQueueMessage -QueuePath `$q -Id 836823 -Confirm -ErrorAction Stop }
    'Set-QmailMessageAge' = { Set-QmailMessageAge -QueuePath `$q -Id 836823 -Expire -Confirm -ErrorAction Stop }
    'Repair-QmailQueue' = { Repair-QmailQueue -QueuePath `$q -Confirm -ErrorAction Stop }
    'Clear-QmailTcpTo' = { Clear-QmailTcpTo -QueuePath `$q -Confirm -ErrorAction Stop }
}
foreach (`$k in `$runs.Keys) {
    try { & `$runs[`$k] | Out-Null; "`$k=ran" } catch { "`$k=" + `$_.FullyQualifiedErrorId + '|' + `$_.Exception.Message }
}
# Start-QmailRedelivery asks only when it found qmail-send: a stand-in named qmail-send (util-linux
# flock(1), copied) holds lock/sendmutex of its own queue, as qmail-send does.
`$rq = '$TestDrive/confirm-redelivery'
New-QmailQueue `$rq -Confirm:`$false | Out-Null
New-Item -ItemType Directory '$TestDrive/bin' -Force | Out-Null
Copy-Item (Get-Command flock -CommandType Application)[0].Source '$TestDrive/bin/qmail-send'
`$fake = Start-Process -FilePath '$TestDrive/bin/qmail-send' -ArgumentList '-x', "`$rq/lock/sendmutex", 'sleep', '60' -PassThru
for (`$i = 0; `$i -lt 50 -and -not (Select-String -Quiet -SimpleMatch -Pattern ' FLOCK ' -LiteralPath /proc/locks); `$i++) { Start-Sleep -Milliseconds 100 }
Start-Sleep -Milliseconds 300
try { Start-QmailRedelivery -QueuePath `$rq -Confirm -ErrorAction Stop | Out-Null; "Start-QmailRedelivery=ran" } catch { "Start-QmailRedelivery=" + `$_.FullyQualifiedErrorId + '|' + `$_.Exception.Message }
Start-Sleep -Milliseconds 300
"fake=" + (Get-Content "/proc/`$(`$fake.Id)/comm" -ErrorAction SilentlyContinue) + "," + (-not `$fake.HasExited)
Stop-Process -Id `$fake.Id -ErrorAction SilentlyContinue
"exists=" + (Test-Path `$new)
"messages=" + @(Get-QmailQueueMessage -QueuePath `$q).Count
"tcpto=" + @(Get-QmailTcpTo -QueuePath `$q).Count
"@
    $confirmOut = Invoke-ChildPwsh -Script $confirmScript
}

Describe '<Name>' -ForEach $cmdlets {
    It 'has help: synopsis, description, an example' {
        $h = Get-Help $Name -Full
        $h.Synopsis | Should -Not -BeNullOrEmpty
        $h.Synopsis | Should -Not -Match ([regex]::Escape($Name) + '\s*\[')   # not the generated syntax
        ($h.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
        @($h.Examples.Example).Count | Should -BeGreaterThan 0
    }

    It 'documents every parameter' {
        $params = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }
        foreach ($p in $params) {
            $ph = Get-Help $Name -Parameter $p
            ($ph.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$p of $Name needs a description"
        }
    }

    It 'refuses -Confirm under -NonInteractive if it changes something, else runs on the demo queue' {
        $cmd = Get-Command $Name
        $line = $confirmOut | Where-Object { $_ -like "$Name=*" }
        if ($line) {
            $line | Should -Match 'NonInteractive'
            $line | Should -Not -Match '=ran$'
            return
        }
        switch ($Name) {
            'Stop-QmailZombie' {
                # No qmail process here older than a day: nothing is stopped, nothing is asked.
                $cmd.Parameters.ContainsKey('WhatIf') | Should -BeTrue
                @(Stop-QmailZombie -OlderThan '1d' -WhatIf).Count | Should -Be 0
            }
            'Get-QmailProcess' { { Get-QmailProcess -ErrorAction Stop } | Should -Not -Throw }
            'Get-QmailMessageContent' { (Get-QmailMessageContent -QueuePath $q -Id 836823 -HeaderOnly)[0].Name | Should -Be 'Received' }
            'ConvertTo-QmailQread' { @(Get-QmailQueueMessage -QueuePath $q | ConvertTo-QmailQread).Count | Should -BeGreaterThan 10 }
            'Get-QmailTcpTo' { @(Get-QmailTcpTo -QueuePath $q).Count | Should -Be 2 }
            'Get-QmailQueueSummary' { (Get-QmailQueueSummary -QueuePath $q).MessagesInQueue | Should -Be 10 }
            'Get-QmailQueueMessage' { (Get-QmailQueueMessage -QueuePath $q)[0] | Should -BeOfType [QmailPS.QueueMessage] }
            'Test-QmailQueue' { (Test-QmailQueue -QueuePath $q)[0] | Should -BeOfType [QmailPS.QueueIssue] }
            'Export-QmailMetric' {
                # Without -Path it only writes text to the pipeline: qmail-qstat's figure for the demo queue.
                $lines = (Export-QmailMetric -QueuePath $q) -split "`n"
                $lines | Where-Object { $_ -like 'qmail_queue_messages{*' } | Should -Match ' 10$'
            }
            default { throw "no third test for $Name" }
        }
    }

    It 'is named in the README' {
        Get-Content -Raw (Join-Path $RepoRoot 'README.md') | Should -Match ([regex]::Escape("``$Name``"))
    }
}

Describe '-Confirm under -NonInteractive' {
    It 'changed nothing' {
        # The stand-in qmail-send was found and got no SIGALRM (it would have died of it).
        $confirmOut | Should -Contain 'fake=qmail-send,True'
        $confirmOut | Should -Contain 'exists=False'
        $confirmOut | Should -Contain 'messages=10'
        $confirmOut | Should -Contain 'tcpto=2'
    }
}

Describe 'README examples' {
    It "the first example (bounces older than three days, compared in local time) runs verbatim" {
        $readme = Get-Content -Raw (Join-Path $RepoRoot 'README.md')
        $line = [regex]::Match($readme, '(?s)```powershell\r?\n(.*?)\r?\n```').Groups[1].Value
        $line | Should -Match '^Get-QmailQueueMessage \| Where-Object Sender'
        $saved = $env:QMAIL_HOME
        try {
            $env:QMAIL_HOME = New-DemoHome $TestDrive
            $got = @(& ([scriptblock]::Create($line)))
            $got.Id | Should -Be @(Get-QmailQueueMessage -Sender '' -OlderThan '3d').Id
            $got.Count | Should -Be 1
        }
        finally { $env:QMAIL_HOME = $saved }
    }

    It 'the everyday postmaster lines run verbatim on a demo queue' {
        $readme = Get-Content -Raw (Join-Path $RepoRoot 'README.md')
        $block = [regex]::Match($readme, '(?s)### Everyday postmaster work\s+```powershell\r?\n(.*?)```').Groups[1].Value
        $block | Should -Not -BeNullOrEmpty
        $lines = @($block -split "`n" | ForEach-Object TrimEnd | Where-Object { $_ -and $_ -notmatch '^\s*#' })
        $lines.Count | Should -BeGreaterThan 10
        $work = Join-Path $TestDrive 'readme'
        New-Item -ItemType Directory $work | Out-Null
        $readmeHome = New-DemoHome $TestDrive
        # The last example pipes to an old script; this one counts what it is given.
        Set-Content (Join-Path $work 'old-report.pl') "#!/bin/sh`nwc -l | sed 's/^/old-report: /'"
        chmod +x (Join-Path $work 'old-report.pl')
        $script = "Set-Location '$work'`n" + (($lines | ForEach-Object {
            $l = $_ -replace "'", "''"
            "try { `$o = @(& ([scriptblock]::Create('$l')) 2>&1); `$errs = @(`$o | Where-Object { `$_ -is [System.Management.Automation.ErrorRecord] }); 'LINE ' + `$errs.Count + ' ' + ((`$errs | ForEach-Object FullyQualifiedErrorId) -join ',') + ' :: $l'; `$o | Where-Object { `$_ -isnot [System.Management.Automation.ErrorRecord] } | Out-String -Width 200 | Where-Object { `$_ -match 'old-report' } } catch { 'LINE THROW ' + `$_.FullyQualifiedErrorId + ' :: $l' }"
        }) -join "`n")
        $out = Invoke-ChildPwsh -Script $script -Environment @{ QMAIL_HOME = $readmeHome }
        $results = @($out | Where-Object { $_ -like 'LINE *' })
        $results.Count | Should -Be $lines.Count
        foreach ($r in $results) {
            if ($r -match ':: Clear-QmailTcpTo; Start-QmailRedelivery$') {
                # No qmail-send runs on the demo queue: the only error is that one.
                $r | Should -Match '^LINE 1 QmailSendNotRunning,'
            }
            else { $r | Should -Match '^LINE 0 ' -Because $r }
        }
        # qmail-qread's text reached the old script: one line per message plus one per recipient.
        $expected = @(Get-QmailQueueMessage -QueuePath (Join-Path $readmeHome 'queue') | ConvertTo-QmailQread).Count
        ($out -join "`n") | Should -Match "old-report:\s+$expected\b"
    }
}
