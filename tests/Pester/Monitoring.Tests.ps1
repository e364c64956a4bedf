# Export-QmailMetric against the real monitoring tools: promtool (Debian package prometheus) checks
# the text, and a real prometheus-node-exporter on a loopback port serves it through its textfile
# collector. .ci/run installs both; a missing tool fails these tests, it never skips them.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $golden = Join-Path $RepoRoot 'tests/golden/processed'

    # The golden queue of real notqmail, in a directory whose name needs escaping in a label value.
    $parent = Join-Path $TestDrive 'q"uo\te'
    New-Item -ItemType Directory $parent | Out-Null
    tar -xpzf (Join-Path $golden 'queue-processed.tar.gz') -C $parent
    $q = Join-Path $parent 'queue'
    $textDir = Join-Path $TestDrive 'textfile'
    New-Item -ItemType Directory $textDir | Out-Null
    $prom = Join-Path $textDir 'qmail.prom'
    $label = 'queue="' + ($q -replace '\\', '\\' -replace '"', '\"') + '"'
}

Describe 'Export-QmailMetric' {
    It 'writes qmail-qstat''s figures, the queue''s make-up and HELP/TYPE lines' {
        $text = Export-QmailMetric -QueuePath $q -IncludeTest
        $text | Should -BeOfType [string]
        $text | Should -Match '\n$'
        $s = Get-QmailQueueSummary -QueuePath $q
        $lines = $text -split "`n"
        $lines | Should -Contain "qmail_queue_messages{$label} $($s.MessagesInQueue)"
        $lines | Should -Contain "qmail_queue_unprocessed_messages{$label} $($s.NotYetPreprocessed)"
        $lines | Should -Contain "qmail_queue_recipients{$label,channel=`"remote`",state=`"pending`"} $($s.PendingRemote)"
        $lines | Should -Contain "qmail_queue_recipients{$label,channel=`"local`",state=`"pending`"} $($s.PendingLocal)"
        $lines | Should -Contain "qmail_queue_bouncing_messages{$label} $($s.Bouncing)"
        $lines | Should -Contain "qmail_queue_size_bytes{$label} $($s.TotalBytes)"
        $oldest = [DateTimeOffset]::new($s.OldestQueuedAt).ToUnixTimeSeconds()
        $lines | Should -Contain "qmail_queue_oldest_message_timestamp_seconds{$label} $oldest"
        $lines | Should -Contain "qmail_send_running{$label} 0"
        $findings = @(Test-QmailQueue -QueuePath $q)
        foreach ($sev in 'Danger', 'Stuck', 'Degraded', 'Garbage', 'Cosmetic', 'Transient') {
            $n = @($findings | Where-Object Severity -eq $sev).Count
            $lines | Should -Contain "qmail_queue_findings{$label,severity=`"$($sev.ToLowerInvariant())`"} $n"
        }
        foreach ($name in 'qmail_queue_messages', 'qmail_queue_findings', 'qmail_processes', 'qmail_export_duration_seconds') {
            $lines | Should -Contain "# TYPE $name gauge"
            @($lines | Where-Object { $_ -like "# HELP $name *" }).Count | Should -Be 1
        }
        # Findings only with -IncludeTest.
        (Export-QmailMetric -QueuePath $q) | Should -Not -Match 'qmail_queue_findings'
    }

    It 'counts the tcpto hosts qmail-remote skips now' {
        $tcpto = Join-Path $q 'lock/tcpto'
        $saved = [System.IO.File]::ReadAllBytes($tcpto)
        try {
            # Two classic records: 192.0.2.1 timed out 3 times a minute ago (skipped), 192.0.2.2 once (not).
            $now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() - 60
            $bytes = [byte[]]::new(1024)
            foreach ($r in @(@(0, 1, 3), @(1, 2, 1))) {
                $o = $r[0] * 16
                $bytes[$o] = 192; $bytes[$o + 1] = 0; $bytes[$o + 2] = 2; $bytes[$o + 3] = $r[1]
                $bytes[$o + 4] = $r[2]
                [BitConverter]::GetBytes([uint32]$now).CopyTo($bytes, $o + 8)
            }
            [System.IO.File]::WriteAllBytes($tcpto, $bytes)
            @(Get-QmailTcpTo -QueuePath $q | Where-Object IsSkipped).Count | Should -Be 1
            (Export-QmailMetric -QueuePath $q) -split "`n" | Should -Contain "qmail_tcpto_skipped_hosts{$label} 1"
        }
        finally { [System.IO.File]::WriteAllBytes($tcpto, $saved) }
    }

    It 'replaces -Path atomically with a 0644 file and leaves no temporary file' {
        Set-Content -LiteralPath $prom -Value 'old'
        Export-QmailMetric -QueuePath $q -Path $prom
        (Get-Content -Raw -LiteralPath $prom) | Should -Match "qmail_queue_messages\{"
        [Convert]::ToString([int](Get-Item -LiteralPath $prom).UnixFileMode, 8) | Should -Be '644'
        @(Get-ChildItem -Force -LiteralPath $textDir).Name | Should -Be @('qmail.prom')
    }

    It 'writes nothing with -WhatIf' {
        $whatIf = Join-Path $TestDrive 'whatif.prom'
        Export-QmailMetric -QueuePath $q -Path $whatIf -WhatIf
        Test-Path -LiteralPath $whatIf | Should -BeFalse
    }

    It 'reports a -Path it cannot write (QmailMetricWriteFailed) or that is a directory (QmailMetricPathIsDirectory)' {
        $bad = Join-Path $TestDrive 'no-such-dir/qmail.prom'
        { Export-QmailMetric -QueuePath $q -Path $bad -ErrorAction Stop } | Should -Throw -ErrorId 'QmailMetricWriteFailed,QmailPS.Commands.ExportQmailMetricCommand'
        { Export-QmailMetric -QueuePath $q -Path $textDir -ErrorAction Stop } | Should -Throw -ErrorId 'QmailMetricPathIsDirectory,QmailPS.Commands.ExportQmailMetricCommand'
    }

    It 'is accepted by promtool check metrics' {
        Export-QmailMetric -QueuePath $q -Path $prom -IncludeTest
        $promtool = (Get-Command promtool -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source
        $out = & bash -c '"$1" check metrics < "$2" 2>&1' bash $promtool $prom
        $LASTEXITCODE | Should -Be 0 -Because "promtool said: $out"
        $out | Should -BeNullOrEmpty -Because 'promtool prints nothing for clean metrics (lint problems included)'
        # And it does reject broken text, so the check above means something.
        $broken = Join-Path $TestDrive 'broken.prom'
        Set-Content -LiteralPath $broken -Value "qmail_queue_messages{queue=`"x} 1"
        & bash -c '"$1" check metrics < "$2" >/dev/null 2>&1' bash $promtool $broken
        $LASTEXITCODE | Should -Not -Be 0
    }
}

Describe 'node_exporter textfile collector' {
    BeforeAll {
        Export-QmailMetric -QueuePath $q -Path $prom -IncludeTest
        $exporter = (Get-Command prometheus-node-exporter -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source
        $port = Get-FreeTcpPort
        $log = Join-Path $TestDrive 'node_exporter.log'
        $nodeExporter = Start-Process -FilePath $exporter -PassThru -RedirectStandardError $log -RedirectStandardOutput (Join-Path $TestDrive 'node_exporter.out') -ArgumentList @(
            "--web.listen-address=127.0.0.1:$port", '--collector.disable-defaults', '--collector.textfile',
            "--collector.textfile.directory=$textDir")
        $url = "http://127.0.0.1:$port/metrics"
        $scraped = $null
        $deadline = [datetime]::UtcNow.AddSeconds(30)
        while (-not $scraped -and [datetime]::UtcNow -lt $deadline -and -not $nodeExporter.HasExited) {
            try { $scraped = (Invoke-WebRequest -Uri $url -TimeoutSec 5 -UseBasicParsing).Content }
            catch { Start-Sleep -Milliseconds 200 }
        }
    }

    AfterAll {
        if ($nodeExporter -and -not $nodeExporter.HasExited) {
            Stop-Process -Id $nodeExporter.Id
            $nodeExporter.WaitForExit(10000) | Out-Null
        }
    }

    It 'serves the exported values with no textfile scrape error' {
        $scraped | Should -Not -BeNullOrEmpty -Because "node_exporter should answer on $url; its log: $(Get-Content -Raw -ErrorAction SilentlyContinue $log)"
        $lines = $scraped -split "`n"
        $lines | Should -Contain 'node_textfile_scrape_error 0'
        $s = Get-QmailQueueSummary -QueuePath $q
        $lines | Should -Contain "qmail_queue_messages{$label} $($s.MessagesInQueue)"
        $lines | Should -Contain "qmail_queue_recipients{channel=`"remote`",$label,state=`"pending`"} $($s.PendingRemote)"
        $lines | Should -Contain "# TYPE qmail_queue_findings gauge"
        # The file's modification time, which alerts on a stale export use.
        @($lines | Where-Object { $_ -like 'node_textfile_mtime_seconds{file=*qmail.prom*' }).Count | Should -Be 1
    }

    It 'reports a broken file as a scrape error, so the check above means something' {
        $broken = Join-Path $textDir 'broken.prom'
        Set-Content -LiteralPath $broken -Value "qmail_queue_messages{queue=`"x} 1"
        try {
            $text = (Invoke-WebRequest -Uri $url -TimeoutSec 5 -UseBasicParsing).Content
            ($text -split "`n") | Should -Contain 'node_textfile_scrape_error 1'
        }
        finally { Remove-Item -LiteralPath $broken }
    }
}
