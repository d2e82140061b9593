import Foundation
import RayBridgeClients
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// `backoffLimit` against the real Ray: each attempt its own submission and log object, and
    /// exactly one submission per attempt across SIGKILLs and a lost status directory. The
    /// product's backoff (10 s, then 20 s) is shortened (RAYBRIDGE_TEST_BACKOFF_SCALE): these tests are
    /// about what happens around it; its length is the state machine's tables' (RetryTests).
    @Suite struct LifecycleRetryTests {
        /// flaky.py fails its first two attempts and succeeds on the third.
        @Test(arguments: [(3, "SUCCEEDED", 3), (1, "FAILED", 2)])
        func aScriptThatFailsTwiceIsRetried(backoffLimit: Int, ends: String, submissions: Int) async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let ws = try Workspace("retry")
            defer { ws.cleanup() }
            let total = backoffLimit + 1
            _ = try KubeletConfigMap(
                directory: ws.configDir,
                values: try Lifecycle.flaky(counter: ws.statusDir + ".counter", fail: 2, extra: ["backoffLimit": "\(backoffLimit)"], s3: true))
            let sidecar = try ws.logShippingSidecar(backoffScale: 0.1)
            defer { sidecar.signal(SIGKILL) }
            let waiting = try await sidecar.waitForStatus(timeout: .seconds(60), "the backoff after attempt 1") {
                $0["status.jobStatus"] == "WAITING" && ($0["status.message"] ?? "").contains("attempt 1 of \(total) failed")
            }
            #expect(waiting["status.message"]?.contains("attempt 2 of \(total) is submitted in") == true, "\(waiting)")
            try await sidecar.waitForStatus(timeout: .seconds(60), "attempt 2 running or done") {
                ($0["status.message"] ?? "").contains("attempt 2 of \(total)") && $0["id"] != waiting["id"]
            }
            let final = try await sidecar.waitForStatus(timeout: .seconds(120), ends) { $0["status.jobStatus"] == ends }
            await sidecar.stop()

            let runs = try await RayHead.submissions(of: ws.jobName)
            #expect(runs.count == submissions, "\(runs.compactMap(\.submissionId))")
            #expect(try await Lifecycle.attemptsOnCluster(ws.jobName) == (1...submissions).map(String.init))
            #expect(runs.map(\.status) == Array(repeating: RayJobStatus.failed, count: 2) + (ends == "SUCCEEDED" ? [.succeeded] : []))
            let attempts = Lifecycle.attempts(final)
            #expect(attempts.map(\.id) == runs.compactMap(\.submissionId))
            #expect(attempts.map(\.outcome) == runs.map(\.status.rawValue))
            #expect(Lifecycle.json(final)["attempt"] as? Int == submissions)
            if ends == "FAILED" {
                #expect(final["status.message"]?.hasPrefix("failed after 2 attempts") == true, "\(final)")
            }
            // Every attempt has its own log object, equal to Ray's log of it.
            for id in runs.compactMap(\.submissionId) {
                let object = try await Lifecycle.logObject(jobName: ws.jobName, id: id)
                #expect(object == Data(try await RayHead.client().logs(id).utf8), "the log object of \(id)")
            }
        }

        /// SIGKILL right after a retry's POST, then during the next backoff, with the status
        /// directory kept or wiped each time: one submission per attempt, counted by metadata.
        @Test(arguments: [false, true])
        func sigkillDuringTheBackoffAndAfterARetrysPostSubmitsEachAttemptOnce(wiped: Bool) async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace(wiped ? "retrykillwiped" : "retrykill")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(
                directory: ws.configDir,
                values: try Lifecycle.flaky(counter: ws.statusDir + ".counter", fail: 99, extra: ["backoffLimit": "2"], s3: false))
            let wipe = {
                if wiped { try FileManager.default.removeItem(atPath: ws.statusDir) }
            }

            // A quarter of the backoff: the SIGKILL below must still fall inside the 5 s before attempt 3.
            let first = try ws.sidecar(crashAt: "after-retry-submit", backoffScale: 0.25)
            let code = await first.waitForExit(timeout: .seconds(90))
            #expect(code == SIGKILL, "the crash hook should have killed it after attempt 2's POST; log:\n\(first.log.suffix(3000))")
            #expect(try await Lifecycle.attemptsOnCluster(ws.jobName) == ["1", "2"])
            try wipe()

            let second = try ws.sidecar(backoffScale: 0.25)
            try await second.waitForStatus(timeout: .seconds(90), "the backoff before attempt 3") {
                $0["status.jobStatus"] == "WAITING" && ($0["status.message"] ?? "").contains("attempt 3 of 3 is submitted in")
            }
            await second.sigkill()
            #expect(try await Lifecycle.attemptsOnCluster(ws.jobName) == ["1", "2"], "nothing submitted during the backoff")
            try wipe()

            let third = try ws.sidecar(backoffScale: 0.25)
            defer { third.signal(SIGKILL) }
            let final = try await third.waitForStatus(timeout: .seconds(90), "FAILED after 3 attempts") { $0["status.jobStatus"] == "FAILED" }
            await third.stop()
            #expect(final["status.message"]?.hasPrefix("failed after 3 attempts") == true, "\(final)")
            let runs = try await RayHead.submissions(of: ws.jobName)
            #expect(runs.compactMap { $0.metadata?["raybridge.attempt"] } == ["1", "2", "3"], "\(runs.compactMap(\.submissionId))")
            #expect(runs.compactMap { $0.metadata?["raybridge.sequence"] } == ["1", "2", "3"])
            #expect(Lifecycle.attempts(final).map(\.outcome) == ["FAILED", "FAILED", "FAILED"])
        }
    }
}
