import Foundation
import RayBridgeClients
import RayBridgeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// `activeDeadlineSeconds`, and a run that Ray forgot when its head restarted without
    /// persistence, against the real Ray.
    @Suite struct LifecycleDeadlineTests {
        /// `sleep 600` with a 5 s deadline: STOPPED on Ray and FAILED/DeadlineExceeded in the
        /// status within 7 s of its submission, also when the sidecar was SIGKILLed in between.
        @Test(.rayHead(.exclusive), arguments: [false, true])
        func aRunPastItsDeadlineIsStoppedAndFailed(restarted: Bool) async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace(restarted ? "deadlinerestart" : "deadline")
            defer { ws.cleanup() }
            var values = ConfigMapValues.inline(script: "import time\ntime.sleep(600)")
            values["activeDeadlineSeconds"] = "5"
            values["backoffLimit"] = "2"  // not retried all the same
            _ = try KubeletConfigMap(directory: ws.configDir, values: values)
            let port = LoopbackPort.next()
            let listen = ["--listen", "127.0.0.1:\(port)"]
            var sidecar = try ws.sidecar(arguments: listen)
            defer { sidecar.signal(SIGKILL) }
            let id = try #require(try await sidecar.waitForStatus(timeout: .seconds(60), "RUNNING") { $0["status.jobStatus"] == "RUNNING" }["id"])
            if restarted {
                await sidecar.sigkill()
                sidecar = try ws.sidecar(arguments: listen)
            }
            let final = try await sidecar.waitForStatus(timeout: .seconds(30), "FAILED") { $0["status.jobStatus"] == "FAILED" }
            let seen = Date()
            // The end is counted once, by the process that saw it, in KubeRay's style of metrics.
            let metrics = try await ObservabilityTests.get(port, "/metrics").body
            await sidecar.stop()
            #expect(ObservabilityTests.sample(metrics, "raybridge_job_deadline_exceeded_total") == 1, "\(metrics)")
            #expect(ObservabilityTests.sample(metrics, "raybridge_job_attempts_total", #"outcome="DeadlineExceeded""#) == 1)
            #expect(ObservabilityTests.sample(metrics, "raybridge_job_duration_seconds_count", #"status="FAILED""#) == 1)
            #expect(metrics.contains(#"le="86400"#), "the job duration's buckets reach a day")
            let job = try await RayHead.client().job(id)
            #expect(job.status == .stopped)
            let startTime = try #require(job.startTime)
            let submitted = Date(timeIntervalSince1970: TimeInterval(startTime) / 1000)
            let endedAfter = TimeInterval((job.endTime ?? 0) - (job.startTime ?? 0)) / 1000
            let reportedAfter = seen.timeIntervalSince(submitted)
            print("deadline 5 s (restarted: \(restarted)): Ray ended the run after \(endedAfter) s, the status said FAILED after \(reportedAfter) s")
            #expect(endedAfter >= 5)
            #expect(reportedAfter < 7, "the status said FAILED \(reportedAfter) s after the submission")
            #expect(Lifecycle.reason(final) == "DeadlineExceeded")
            #expect(final["status.message"]?.contains("activeDeadlineSeconds (5 s)") == true, "\(final)")
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1, "not retried")
        }

        /// The head stopped and started again (no GCS persistence) while attempt 1 runs: with
        /// `backoffLimit: "1"` it is submitted again and succeeds, with "0" it is FAILED/RunLost.
        /// Either way the lost attempt's log object is completed with what was read of it.
        @Test(.rayHead(.exclusive)) func aRunLostWithTheHeadIsRetriedOrFailed() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let retried = try Workspace("lostretry")
            let failed = try Workspace("lostfail")
            defer {
                retried.cleanup()
                failed.cleanup()
            }
            var sidecars: [SidecarProcess] = []
            defer { for sidecar in sidecars { sidecar.signal(SIGKILL) } }
            var firstIds: [String] = []
            for (ws, limit) in [(retried, 1), (failed, 0)] {
                _ = try KubeletConfigMap(
                    directory: ws.configDir,
                    values: try Lifecycle.flaky(counter: ws.statusDir + ".counter", hang: 1, fail: 0, extra: ["backoffLimit": "\(limit)"], s3: true))
                let sidecar = try ws.logShippingSidecar()
                sidecars.append(sidecar)
                let id = try #require(try await sidecar.waitForStatus(timeout: .seconds(60), "RUNNING") { $0["status.jobStatus"] == "RUNNING" }["id"])
                firstIds.append(id)
                try await eventually("attempt 1 printed its line", timeout: .seconds(30), every: .milliseconds(250)) {
                    (try? await RayHead.client().logs(id))?.contains("flaky: attempt 1") == true
                }
            }
            // The followers read the line within a second or so of Ray writing it.
            try await Task.sleep(for: .seconds(2))
            try await RayHead.stop()
            try await RayHead.ensure(.open)

            let ok = try await sidecars[0].waitForStatus(timeout: .seconds(120), "SUCCEEDED on the new head") {
                $0["status.jobStatus"] == "SUCCEEDED"
            }
            #expect(Lifecycle.attempts(ok).map(\.outcome) == ["RunLost", "SUCCEEDED"])
            #expect(ok["status.message"]?.contains("attempt 1 (\(firstIds[0])) was lost") == true, "\(ok)")
            #expect(try await Lifecycle.attemptsOnCluster(retried.jobName) == ["2"], "one new submission, on the new head")
            let lost = try await sidecars[1].waitForStatus(timeout: .seconds(90), "FAILED/RunLost") { $0["status.jobStatus"] == "FAILED" }
            #expect(Lifecycle.reason(lost) == "RunLost")
            #expect(try await RayHead.submissions(of: failed.jobName).isEmpty, "not submitted again")
            for (ws, id) in zip([retried, failed], firstIds) {
                let object = try await Lifecycle.logObject(jobName: ws.jobName, id: id)
                #expect(
                    String(decoding: object, as: UTF8.self).contains("flaky: attempt 1 (hang 1, fail 0)"), "the lost run's object has what was read")
            }
            for sidecar in sidecars { await sidecar.stop() }
        }
    }
}
