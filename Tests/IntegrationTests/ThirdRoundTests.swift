import Foundation
import RayBridgeClients
import RayBridgeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// What RayJob users ask for, against the real Ray (and moto): suspend and resume, a deadline
    /// before running, a job table that stays small.
    @Suite struct ThirdRoundTests {
        /// kill "true" stops the run; kill "false" runs the job again as one new submission.
        @Test func killThenKillFalseRunsTheJobAgainOnce() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("suspend")
            defer { ws.cleanup() }
            var cm = try KubeletConfigMap(
                directory: ws.configDir,
                values: ConfigMapValues.inline(script: try TestEnvironment.app("sleeper.py"), parameters: #"{"seconds": 6}"#))
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            let first = try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }["id"]!
            try cm.update(["kill": "true"])
            let stopped = try await sidecar.waitForStatus("STOPPED") { $0["status.jobStatus"] == "STOPPED" && $0["id"] == first }
            #expect(stopped["status.message"]?.contains("setting it to \"false\" runs the job again") == true, "\(stopped)")
            #expect(try await RayHead.client().job(first).status == .stopped)
            try cm.update(["kill": "false"])
            let second = try await sidecar.waitForStatus(timeout: .seconds(60), "the job again, SUCCEEDED") {
                $0["status.jobStatus"] == "SUCCEEDED" && $0["id"] != first
            }["id"]!
            #expect(second.hasPrefix("\(ws.jobName)-2-"))
            try await Task.sleep(for: .seconds(2))
            let runs = try await RayHead.submissions(of: ws.jobName)
            #expect(runs.compactMap(\.submissionId) == [first, second], "one submission each")
            #expect(runs.map(\.status) == [.stopped, .succeeded])
            await sidecar.stop()
        }

        /// A run that can never start (a resource no node has) is stopped at its pre-running
        /// deadline, retried within backoffLimit, and ends FAILED.
        @Test func aRunThatCanNeverStartEndsFailedAfterItsPreRunningDeadlines() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("prerun")
            defer { ws.cleanup() }
            var values = ConfigMapValues.inline(script: "print('never')")
            values["jobproperties"] = #"{"entrypoint_resources": {"raybridge_no_such_resource": 1}}"#
            values["preRunningDeadlineSeconds"] = "10"
            values["backoffLimit"] = "1"
            _ = try KubeletConfigMap(directory: ws.configDir, values: values)
            // The product's retry backoff (10 s) shortened: this test is about the deadline.
            let sidecar = try ws.sidecar(backoffScale: 0.1)
            defer { sidecar.signal(SIGKILL) }
            let started = ContinuousClock.now
            let final = try await sidecar.waitForStatus(timeout: .seconds(90), "FAILED") { $0["status.jobStatus"] == "FAILED" }
            let took = ContinuousClock.now - started
            #expect(Lifecycle.reason(final) == "PreRunningDeadlineExceeded", "\(final)")
            #expect(Lifecycle.attempts(final).map(\.outcome) == ["PreRunningDeadlineExceeded", "PreRunningDeadlineExceeded"])
            let runs = try await RayHead.submissions(of: ws.jobName)
            #expect(runs.count == 2, "two submissions")
            // Each was stopped on the cluster; Ray 2.60 keeps such a run PENDING (the stop waits in the
            // queue of a job supervisor that cannot be scheduled) until its own start timeout.
            for run in runs {
                let id = try #require(run.submissionId)
                #expect(sidecar.log.contains("submission=\(id) wasRunning=true [RayBridge] stop requested"), "the stop of \(id)")
            }
            #expect(runs.allSatisfy { $0.status == .pending || $0.status.isTerminal })
            #expect(took >= .seconds(20), "two deadlines of 10 s")
            print("pre-running deadline: FAILED after \(took)")
            await sidecar.stop()
        }

        /// 30 resubmissions with keepFinishedRuns 3: at most 3 finished runs and the newest stay on the
        /// cluster, every log object is complete, and a wiped status directory submits nothing.
        @Test func thirtyResubmissionsLeaveAtMostFourRunsOnTheCluster() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let ws = try Workspace("keep")
            defer { ws.cleanup() }
            // Each run prints a little and then sleeps: an edit stops it (as edits do) and submits the next.
            var values = try ConfigMapValues.logShipping(["bytes": 2000, "seconds": 30])
            values["keepFinishedRuns"] = "3"
            var cm = try KubeletConfigMap(directory: ws.configDir, values: values)
            let sidecar = try ws.logShippingSidecar()
            defer { sidecar.signal(SIGKILL) }
            var ids: [String] = []
            var most = 0
            for revision in 1...30 {
                if revision > 1 { try cm.update(["resubmit": "\(revision)"]) }
                let status = try await sidecar.waitForStatus(timeout: .seconds(60), "revision \(revision) RUNNING") {
                    $0["status.jobStatus"] == "RUNNING" && !ids.contains($0["id"] ?? "")
                }
                ids.append(status["id"]!)
                most = max(most, try await RayHead.submissions(of: ws.jobName).count)
            }
            try cm.update(["jobdata.jobParameters": ConfigMapValues.json(["bytes": 2000])])
            let last = try await sidecar.waitForStatus(timeout: .seconds(60), "the last revision SUCCEEDED") {
                $0["status.jobStatus"] == "SUCCEEDED" && LogStatus.complete($0)
            }
            ids.append(last["id"]!)
            try await eventually("the older runs deleted", timeout: .seconds(30)) {
                try await RayHead.submissions(of: ws.jobName).count <= 4
            }
            print("keepFinishedRuns 3: \(ids.count) submissions, at most \(most) on the cluster at a revision's start")
            let remaining = try await RayHead.submissions(of: ws.jobName).compactMap(\.submissionId)
            #expect(remaining.count <= 4)
            #expect(remaining.contains(ids.last!), "never the newest")
            for id in ids {
                let object = try await Lifecycle.logObject(jobName: ws.jobName, id: id)
                #expect(!object.isEmpty, "the log object of \(id) is complete")
            }
            await sidecar.stop()

            try FileManager.default.removeItem(atPath: ws.statusDir)
            let restarted = try ws.logShippingSidecar()
            defer { restarted.signal(SIGKILL) }
            let recovered = try await restarted.waitForStatus(timeout: .seconds(60), "recovered") { $0["status.jobStatus"] == "SUCCEEDED" }
            #expect(recovered["id"] == ids.last)
            try await Task.sleep(for: .seconds(3))
            #expect(try await RayHead.submissions(of: ws.jobName).compactMap(\.submissionId) == remaining, "nothing submitted")
            await restarted.stop()
        }
    }
}
