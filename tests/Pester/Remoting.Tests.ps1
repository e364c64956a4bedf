# PowerShell remoting over SSH against a real sshd (Debian's openssh-server, installed by .ci/run):
# one sshd listening on 127.0.0.1 and 127.0.0.2, which play two mail hosts, each with its own demo
# queue; Invoke-Command -HostName reads both, and a changing cmdlet refuses what came from the other
# "host". Start-Job too. Everything (keys, config, known_hosts, logs) lives in one 0700 directory
# that AfterAll removes with the sshd it started.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $golden = Join-Path $RepoRoot 'tests/golden/processed'

    function New-DemoQueue([string] $Name) {
        $dir = Join-Path $TestDrive $Name
        New-Item -ItemType Directory $dir | Out-Null
        tar -xpzf (Join-Path $golden 'queue-processed.tar.gz') -C $dir
        Join-Path $dir 'queue'
    }

    function Get-QueueFiles([string] $Queue) {
        (Get-ChildItem -LiteralPath $Queue -Recurse -File -Force | ForEach-Object { "$($_.FullName) $($_.Length) $($_.LastWriteTimeUtc.Ticks)" }) -join "`n"
    }

    # Two hosts, two queues: mx2's queue has lost two messages, so the figures differ.
    $queues = @{ '127.0.0.1' = (New-DemoQueue 'mx1'); '127.0.0.2' = (New-DemoQueue 'mx2') }
    Get-QmailQueueMessage -QueuePath $queues['127.0.0.2'] | Where-Object Sender -ne '' | Select-Object -First 2 |
        Remove-QmailQueueMessage -Confirm:$false

    $sshd = (Get-Command sshd, /usr/sbin/sshd -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
    if (-not $sshd) { throw 'sshd is missing: apt-get install openssh-server (.ci/run does it)' }
    $sshDir = Join-Path ([System.IO.Path]::GetTempPath()) ("qmailps-ssh-" + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory $sshDir | Out-Null
    chmod 0700 $sshDir
    ssh-keygen -q -t ed25519 -N '' -C 'qmailps test host' -f (Join-Path $sshDir 'host_ed25519') | Out-Null
    ssh-keygen -q -t ed25519 -N '' -C 'qmailps test user' -f (Join-Path $sshDir 'id_ed25519') | Out-Null
    Copy-Item (Join-Path $sshDir 'id_ed25519.pub') (Join-Path $sshDir 'authorized_keys')
    chmod 0600 (Join-Path $sshDir 'authorized_keys')
    $port = Get-FreeTcpPort
    $hostKey = (Get-Content (Join-Path $sshDir 'host_ed25519.pub')).Split(' ')[0..1] -join ' '
    $knownHosts = Join-Path $sshDir 'known_hosts'
    "[127.0.0.1]:$port $hostKey", "[127.0.0.2]:$port $hostKey" | Set-Content $knownHosts

    # pwsh serves the subsystem: this one when it runs from its own executable, else the pwsh on PATH
    # (a dotnet-tool pwsh runs as /usr/share/dotnet/dotnet); DOTNET_ROOT lets a dotnet-tool pwsh find its runtime.
    $pwsh = if ([System.IO.Path]::GetFileName([Environment]::ProcessPath) -eq 'pwsh') { [Environment]::ProcessPath }
            else { (Get-Command pwsh -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source }
    $dotnetRoot = (Resolve-Path (Join-Path ([System.Runtime.InteropServices.RuntimeEnvironment]::GetRuntimeDirectory()) '../../..')).Path
    $config = Join-Path $sshDir 'sshd_config'
    @"
Port $port
ListenAddress 127.0.0.1
ListenAddress 127.0.0.2
HostKey $sshDir/host_ed25519
PidFile $sshDir/sshd.pid
AuthorizedKeysFile $sshDir/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The key directory is 0700, but it lies under /tmp (mode 1777), which StrictModes rejects.
StrictModes no
SetEnv DOTNET_ROOT=$dotnetRoot
Subsystem powershell $pwsh -sshs -NoLogo -NoProfile
"@ | Set-Content $config
    # sshd needs its privilege-separation directory, as Debian's service creates it.
    $createdRunSshd = -not (Test-Path /run/sshd)
    if ($createdRunSshd) { New-Item -ItemType Directory /run/sshd | Out-Null; chmod 0755 /run/sshd }
    $check = & $sshd -t -f $config 2>&1
    if ($LASTEXITCODE -ne 0) { throw "sshd -t rejected the test config: $check" }
    $sshdLog = Join-Path $sshDir 'sshd.log'
    $sshdProcess = Start-Process -FilePath $sshd -ArgumentList @('-D', '-e', '-f', $config) -PassThru `
        -RedirectStandardError $sshdLog -RedirectStandardOutput (Join-Path $sshDir 'sshd.out')
    $deadline = [datetime]::UtcNow.AddSeconds(20)
    foreach ($address in '127.0.0.1', '127.0.0.2') {
        while ($true) {
            $c = [System.Net.Sockets.TcpClient]::new()
            try { $c.Connect($address, $port); break } catch { } finally { $c.Dispose() }
            if ($sshdProcess.HasExited -or [datetime]::UtcNow -gt $deadline) { throw "sshd did not listen on ${address}:${port}: $(Get-Content -Raw $sshdLog)" }
            Start-Sleep -Milliseconds 100
        }
    }

    $remote = @{
        Port              = $port
        UserName          = 'root'
        KeyFilePath       = Join-Path $sshDir 'id_ed25519'
        Options           = @{ UserKnownHostsFile = $knownHosts; StrictHostKeyChecking = 'yes'; IdentitiesOnly = 'yes'; BatchMode = 'yes' }
        ConnectingTimeout = 60000
    }
    # Each "host" imports the staged module and picks its own queue by the address it was reached on.
    $prologue = {
        Import-Module (Join-Path $using:ModuleDir 'QmailPS.psd1')
        $myQueue = ($using:queues)[($env:SSH_CONNECTION -split ' ')[2]]
    }
    function Invoke-OnHosts([string[]] $HostName, [scriptblock] $Script) {
        $block = [scriptblock]::Create($prologue.ToString() + "`n" + $Script.ToString())
        Invoke-Command -HostName $HostName @remote -ScriptBlock $block
    }
}

AfterAll {
    if ($sshdProcess -and -not $sshdProcess.HasExited) {
        Stop-Process -Id $sshdProcess.Id
        $sshdProcess.WaitForExit(10000) | Out-Null
    }
    if ($sshDir -and (Test-Path -LiteralPath $sshDir)) { Remove-Item -LiteralPath $sshDir -Recurse -Force }
    if ($createdRunSshd -and (Test-Path /run/sshd)) { Remove-Item -LiteralPath /run/sshd -Recurse -Force }
}

Describe 'Invoke-Command -HostName against two qmail hosts' {
    It 'gives each host''s summary, sorted by size' {
        $fleet = @(Invoke-OnHosts '127.0.0.1', '127.0.0.2' { Get-QmailQueueSummary -QueuePath $myQueue } |
            Sort-Object MessagesInQueue -Descending)
        $fleet.Count | Should -Be 2
        $fleet.PSComputerName | Should -Be @('127.0.0.1', '127.0.0.2')
        foreach ($s in $fleet) {
            $local = Get-QmailQueueSummary -QueuePath $queues[$s.PSComputerName]
            $s.QueuePath | Should -Be $queues[$s.PSComputerName]
            $s.MessagesInQueue | Should -Be $local.MessagesInQueue
            $s.NotYetPreprocessed | Should -Be $local.NotYetPreprocessed
            $s.PendingRemote | Should -Be $local.PendingRemote
            $s.TotalBytes | Should -Be $local.TotalBytes
        }
        $fleet[0].MessagesInQueue | Should -Be ($fleet[1].MessagesInQueue + 2)
    }

    It 'filters deserialized messages with Where-Object as it filters local ones' {
        $remoteBounces = @(Invoke-OnHosts '127.0.0.1' { Get-QmailQueueMessage -QueuePath $myQueue } | Where-Object Sender -eq '')
        $localBounces = @(Get-QmailQueueMessage -QueuePath $queues['127.0.0.1'] | Where-Object Sender -eq '')
        $localBounces.Count | Should -BeGreaterThan 0
        $remoteBounces.Id | Should -Be $localBounces.Id
        $remoteBounces[0].PSTypeNames[0] | Should -Be 'Deserialized.QmailPS.QueueMessage'
        $remoteBounces[0].PSComputerName | Should -Be '127.0.0.1'
    }

    It 'names the host of each deserialized message and summary in the default views at 80 columns' {
        $messages = @(Invoke-OnHosts '127.0.0.1', '127.0.0.2' { Get-QmailQueueMessage -QueuePath $myQueue })
        $table = $messages | Out-String -Width 80
        $table | Should -Match '(?m)^PSComputerName +Id +QueuedAt'
        $table | Should -Match '(?m)^127\.0\.0\.1 +\d+ '
        $table | Should -Match '(?m)^127\.0\.0\.2 +\d+ '
        ($table -split "`n" | Where-Object { $_.Length -gt 80 }) | Should -BeNullOrEmpty
        $summary = Invoke-OnHosts '127.0.0.2' { Get-QmailQueueSummary -QueuePath $myQueue } | Out-String -Width 80
        $summary | Should -Match 'Host +: 127\.0\.0\.2'
        # a local summary has no host line
        (Get-QmailQueueSummary -QueuePath $queues['127.0.0.2'] | Out-String -Width 80) | Should -Not -Match 'Host +:'
    }

    It 'exports the remote host''s metrics' {
        $text = Invoke-OnHosts '127.0.0.2' { Export-QmailMetric -QueuePath $myQueue }
        $s = Get-QmailQueueSummary -QueuePath $queues['127.0.0.2']
        ($text -split "`n") | Should -Contain "qmail_queue_messages{queue=`"$($queues['127.0.0.2'])`"} $($s.MessagesInQueue)"
    }

    It 'refuses another host''s messages, findings and processes per item, and changes nothing' {
        $q2 = $queues['127.0.0.2']
        $before = Get-QueueFiles $q2
        $messages = @(Invoke-OnHosts '127.0.0.2' { Get-QmailQueueMessage -QueuePath $myQueue })
        $messages.Count | Should -BeGreaterThan 1

        $messages | Remove-QmailQueueMessage -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable removeErrors
        $removeErrors.Count | Should -Be $messages.Count
        foreach ($e in $removeErrors) {
            $e.FullyQualifiedErrorId | Should -Be 'QmailObjectFromAnotherHost,QmailPS.Commands.RemoveQmailQueueMessageCommand'
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $e.Exception.Message | Should -Match "came from .127\.0\.0\.2."
        }
        $removeErrors.TargetObject | Should -Be $messages.Id

        $messages | Set-QmailMessageAge -Expire -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable ageErrors
        $ageErrors.Count | Should -Be $messages.Count
        $ageErrors[0].FullyQualifiedErrorId | Should -Be 'QmailObjectFromAnotherHost,QmailPS.Commands.SetQmailMessageAgeCommand'

        $findings = @(Invoke-OnHosts '127.0.0.2' { Test-QmailQueue -QueuePath $myQueue })
        $findings.Count | Should -BeGreaterThan 0
        $findings | Repair-QmailQueue -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable repairErrors
        $repairErrors.Count | Should -Be $findings.Count
        $repairErrors[0].FullyQualifiedErrorId | Should -Be 'QmailObjectFromAnotherHost,QmailPS.Commands.RepairQmailQueueCommand'

        $process = Invoke-OnHosts '127.0.0.2' { [pscustomobject]@{ ProcessId = $PID; Name = 'qmail-remote' } }
        $process | Stop-QmailZombie -OlderThan 0 -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable stopErrors
        $stopErrors.Count | Should -Be 1
        $stopErrors[0].FullyQualifiedErrorId | Should -Be 'QmailObjectFromAnotherHost,QmailPS.Commands.StopQmailZombieCommand'
        $stopErrors[0].TargetObject | Should -Be $process.ProcessId

        Get-QueueFiles $q2 | Should -Be $before
    }

    It 'changes a host''s queue the right way: the whole pipeline on that host' {
        $q2 = $queues['127.0.0.2']
        $bounces = @(Get-QmailQueueMessage -QueuePath $q2 -Sender '').Count
        $bounces | Should -BeGreaterThan 0
        $removed = @(Invoke-OnHosts '127.0.0.2' { Get-QmailQueueMessage -QueuePath $myQueue -Sender '' | Remove-QmailQueueMessage -Confirm:$false -PassThru })
        $removed.Count | Should -Be $bounces
        @(Get-QmailQueueMessage -QueuePath $q2 -Sender '').Count | Should -Be 0
        # mx1 is untouched.
        @(Get-QmailQueueMessage -QueuePath $queues['127.0.0.1'] -Sender '').Count | Should -Be $bounces
    }
}

Describe 'Start-Job' {
    It 'brings back the summary and messages of this host, which the changing cmdlets accept' {
        $q1 = $queues['127.0.0.1']
        $module = Join-Path $ModuleDir 'QmailPS.psd1'
        $summary = Start-Job { Import-Module $using:module; Get-QmailQueueSummary -QueuePath $using:q1 } | Receive-Job -Wait -AutoRemoveJob
        $summary.MessagesInQueue | Should -Be (Get-QmailQueueSummary -QueuePath $q1).MessagesInQueue
        $summary.PSComputerName | Should -Be 'localhost'
        $messages = @(Start-Job { Import-Module $using:module; Get-QmailQueueMessage -QueuePath $using:q1 } | Receive-Job -Wait -AutoRemoveJob)
        $messages.Count | Should -BeGreaterThan 0
        $before = Get-QueueFiles $q1
        $messages | Remove-QmailQueueMessage -WhatIf -ErrorAction SilentlyContinue -ErrorVariable jobErrors
        $jobErrors.Count | Should -Be 0
        Get-QueueFiles $q1 | Should -Be $before
    }

    It 'refuses a deserialized message whose host is unknown' {
        $q1 = $queues['127.0.0.1']
        $clixml = Join-Path $TestDrive 'messages.clixml'
        Get-QmailQueueMessage -QueuePath $q1 | Select-Object -First 1 | Export-Clixml -LiteralPath $clixml
        $before = Get-QueueFiles $q1
        Import-Clixml -LiteralPath $clixml | Remove-QmailQueueMessage -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -Be 'QmailObjectOriginUnknown,QmailPS.Commands.RemoveQmailQueueMessageCommand'
        Get-QueueFiles $q1 | Should -Be $before
    }
}

Describe 'Piped objects of this host' {
    It 'still bind as before: a finding to -InputObject; an object without QueuePath repairs nothing' {
        $q1 = $queues['127.0.0.1']
        $before = Get-QueueFiles $q1
        $finding = Test-QmailQueue -QueuePath $q1 | Select-Object -First 1
        $traceFile = Join-Path $TestDrive 'binding.txt'
        Trace-Command -Name ParameterBinding -Expression { $finding | Repair-QmailQueue -WhatIf } -FilePath $traceFile | Out-Null
        $trace = Get-Content -Raw -LiteralPath $traceFile
        $trace | Should -Match 'BIND arg \[.*\] to parameter \[InputObject\]'
        { 'not a finding' | Repair-QmailQueue -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'QmailInputNotBound,QmailPS.Commands.RepairQmailQueueCommand'
        Get-QueueFiles $q1 | Should -Be $before
    }
}
