import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// Faults a real Ray cannot produce on demand, injected by scripts/fault_proxy.py in front of
    /// it, and edits the way users make them.
    @Suite struct FaultTests {
        /// Sleeps for its `s` parameter: one script serves a long and a short revision.
        static let sleeper = "import sys, time\ntime.sleep(int(sys.argv[-1].split('=')[1]))\nprint('slept')"

        static func config(url: String, seconds: Int, extra: [String: String] = [:]) -> [String: String] {
            var values = ConfigMapValues.inline(script: sleeper, parameters: ConfigMapValues.json(["s": seconds]))
            values["resourceURL"] = url
            return values.merging(extra) { $1 }
        }

        @Test func aFailedStopIsSentAgainAndTheNextRevisionWaitsForTheOldRunToEnd() async throws {
            try await RayHead.ensure(.open)
            let proxy = try await FaultProxy(port: 9110, upstream: "127.0.0.1:\(TestEnvironment.rayPort)")
            defer { proxy.stop() }
            let ws = try Workspace("stopfail")
            defer { ws.cleanup() }
            var configMap = try KubeletConfigMap(directory: ws.configDir, values: Self.config(url: proxy.url, seconds: 600))
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            let first = try #require(try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }["id"])

            // An edit while the first stop request is answered 503.
            try proxy.fail("503 /stop$ 1")
            try configMap.update(["jobdata.jobParameters": ConfigMapValues.json(["s": 1])])
            let second = try await sidecar.waitForStatus(timeout: .seconds(90), "the new revision SUCCEEDED") {
                $0["id"] != first && $0["status.jobStatus"] == "SUCCEEDED"
            }
            let stops = proxy.requests.filter { $0.hasPrefix("POST /api/jobs/\(first)/stop") }
            #expect(stops.first?.hasSuffix(" 503") == true, "\(stops)")
            #expect(stops.count >= 2, "the stop was sent again: \(stops)")
            let old = try await RayHead.client().job(first)
            let new = try await RayHead.client().job(try #require(second["id"]))
            #expect(old.status == .stopped)
            #expect((old.endTime ?? .max) <= (new.startTime ?? 0), "the new run started after the old one ended")

            // kill, with the stop failing once again: the run is STOPPED on Ray all the same.
            // 601, not 600: a revision runs once, and 600 was the first one.
            try configMap.update(["jobdata.jobParameters": ConfigMapValues.json(["s": 601])])
            let third = try #require(
                try await sidecar.waitForStatus("the third run RUNNING") { $0["id"] != second["id"] && $0["status.jobStatus"] == "RUNNING" }["id"])
            try proxy.fail("503 /stop$ 1")
            try configMap.update(["kill": "true"])
            try await sidecar.waitForStatus(timeout: .seconds(20), "STOPPED after a failed stop") { $0["status.jobStatus"] == "STOPPED" }
            #expect(try await RayHead.client().job(third).status == .stopped)
            #expect(try await RayHead.submissions(of: ws.jobName).count == 3)
            await sidecar.stop()
        }

        @Test func movingToAnotherClusterStopsTheRunOnTheClusterItRunsOn() async throws {
            try await RayHead.ensure(.open)
            // Two URLs for the cluster: the proxy's log tells which one each call went to.
            let proxy = try await FaultProxy(port: 9111, upstream: "127.0.0.1:\(TestEnvironment.rayPort)")
            defer { proxy.stop() }
            let ws = try Workspace("move")
            defer { ws.cleanup() }
            var configMap = try KubeletConfigMap(directory: ws.configDir, values: Self.config(url: proxy.url, seconds: 600))
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            let first = try #require(try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }["id"])
            try configMap.update(["resourceURL": TestEnvironment.rayURL, "jobdata.jobParameters": ConfigMapValues.json(["s": 1])])
            try await sidecar.waitForStatus(timeout: .seconds(90), "SUCCEEDED on the new URL") {
                $0["id"] != first && $0["status.jobStatus"] == "SUCCEEDED"
            }
            #expect(
                proxy.requests.contains { $0.hasPrefix("POST /api/jobs/\(first)/stop") },
                "the stop went to the old cluster: \(proxy.requests.suffix(10))")
            #expect(try await RayHead.client().job(first).status == .stopped)
            await sidecar.stop()
        }

        /// 500 kubelet-style edits in about 3 s: the running revision is stopped, the newest runs,
        /// and nothing in between is submitted.
        @Test(.rayHead(.exclusive)) func aBurstOfEditsRunsOnlyTheNewestSoonAfterTheLastEdit() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("storm")
            defer { ws.cleanup() }
            var configMap = try KubeletConfigMap(directory: ws.configDir, values: Self.config(url: TestEnvironment.rayURL, seconds: 600))
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }
            let start = ContinuousClock.now
            for i in 1...500 {
                try configMap.update(["resubmit": "\(i)", "jobdata.jobParameters": ConfigMapValues.json(["s": 1])])
                try await Task.sleep(until: start + .milliseconds(6 * i))
            }
            let lastEdit = ContinuousClock.now
            let newest = Revision(values: configMap.values)
            let status = try await sidecar.waitForStatus(timeout: .seconds(60), "the newest revision SUCCEEDED") {
                $0["status.jobStatus"] == "SUCCEEDED" && ($0["id"] ?? "").hasSuffix(newest.short)
            }
            let submissions = try await RayHead.submissions(of: ws.jobName)
            #expect(submissions.count == 2, "the first run and the newest: \(submissions.compactMap(\.submissionId))")
            // The newest ran within seconds of the last edit: settle window (1 s), Ray's start, a 1 s job.
            let settled = ContinuousClock.now - lastEdit
            print("storm: 500 edits, \(submissions.count) submissions, newest SUCCEEDED \(settled) after the last edit")
            #expect(settled < .seconds(15))
            #expect(status["id"] == submissions.last?.submissionId)
            await sidecar.stop()
        }

        @Test(.rayHead(.exclusive)) func sighupShutsDownLikeSigterm() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("hup")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(directory: ws.configDir, values: Self.config(url: TestEnvironment.rayURL, seconds: 600))
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            let id = try #require(try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }["id"])
            let sent = ContinuousClock.now
            sidecar.signal(SIGHUP)
            let code = await sidecar.waitForExit(timeout: .seconds(10))
            #expect(code == 0, "exit code \(String(describing: code))")
            #expect(ContinuousClock.now - sent < .seconds(5))
            #expect(try await RayHead.client().job(id).status == .running, "left running, as with SIGTERM")
            _ = try await RayHead.client().stop(id)
        }

        /// The status directory refuses writes for a while (made immutable, as a full or read-only
        /// volume would): once it takes them again the latest status is there, with no event to
        /// bring it.
        @Test func theStatusCatchesUpOnceTheDirectoryIsWritableAgain() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("rostatus")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(
                directory: ws.configDir, values: Self.config(url: TestEnvironment.rayURL, seconds: 3, extra: ["updateInterval": "1"]))
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }
            let (status, output) = try await TestEnvironment.shell(["chattr", "+i", ws.statusDir])
            guard status == 0 else { throw TestFailure("chattr +i failed: \(output)") }
            // The run ends meanwhile; its status cannot be written.
            do {
                try await Task.sleep(for: .seconds(8))
            } catch {
                _ = try? await TestEnvironment.shell(["chattr", "-i", ws.statusDir])  // or the cleanup cannot remove it
                throw error
            }
            #expect(StatusDirectory.read(ws.statusDir)["status.jobStatus"] == "RUNNING")
            _ = try await TestEnvironment.shell(["chattr", "-i", ws.statusDir])
            try await sidecar.waitForStatus(timeout: .seconds(40), "SUCCEEDED without another event") { $0["status.jobStatus"] == "SUCCEEDED" }
            #expect(sidecar.log.components(separatedBy: "cannot write the status directory").count - 1 == 1, "logged once")
            await sidecar.stop()
        }

        /// A script in S3 with no S3 credentials mounted: retried with backoff (1 s doubling to
        /// 30 s), logged once.
        @Test func aRetryThatKeepsFailingBacksOffAndIsLoggedOnce() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let ws = try Workspace("nocreds")
            defer { ws.cleanup() }
            var values = Self.config(url: TestEnvironment.rayURL, seconds: 1)
            values["jobdata.scriptLocation"] = "s3"
            values["jobdata.jobScript"] = "ray-scripts:nowhere/script.py"
            values["s3.endpoint"] = S3Server.endpoint
            values["s3.secure"] = "false"
            values["s3upload.bucket"] = "ray-logs"
            _ = try KubeletConfigMap(directory: ws.configDir, values: values)
            let sidecar = try ws.sidecar()  // its S3 credentials directory does not exist
            defer { sidecar.signal(SIGKILL) }
            try await Task.sleep(for: .seconds(20))
            let status = StatusDirectory.read(ws.statusDir)
            let message = status["status.message"] ?? ""
            #expect(status["status.jobStatus"] == "WAITING", "\(status)")
            // 20 s at 1, 2, 4, 8 s: about 5 attempts; every second would have made 20.
            let attempt = Int(message.firstMatch(of: /attempt (\d+)/)?.1 ?? "0") ?? 0
            #expect((1...6).contains(attempt), "\(message)")
            #expect(sidecar.log.components(separatedBy: "cannot prepare the submission").count - 1 == 1, "logged once:\n\(sidecar.log.suffix(3000))")
            await sidecar.stop()
        }

        /// A server that echoes our request into its error page, and one that redirects elsewhere:
        /// the token shows nowhere, and is never carried to another origin.
        @Test func secretsEchoedByAServerStaySecretAndRedirectsAreNotFollowed() async throws {
            let token = "tok-SECRET-\(UUID().uuidString.prefix(8))"
            let tokenDir = try TestEnvironment.temporaryDirectory("hostile-token")
            defer { try? FileManager.default.removeItem(atPath: tokenDir) }
            try token.write(toFile: tokenDir + "/token", atomically: true, encoding: .utf8)
            let echo = try await HostileServer(port: 9120, mode: ["--echo", "500"])
            defer { echo.stop() }
            let elsewhere = try await HostileServer(port: 9122, mode: ["--echo", "200"])
            defer { elsewhere.stop() }
            let redirect = try await HostileServer(port: 9121, mode: ["--redirect-to", "\(elsewhere.url)/api/version"])
            defer { redirect.stop() }

            for server in [echo, redirect] {
                let ws = try Workspace("hostile")
                defer { ws.cleanup() }
                _ = try KubeletConfigMap(directory: ws.configDir, values: Self.config(url: server.url, seconds: 1))
                let port = LoopbackPort.next()
                let sidecar = try ws.sidecar(rayCredentialsDir: tokenDir, arguments: ["--listen", "127.0.0.1:\(port)"])
                defer { sidecar.signal(SIGKILL) }
                let status = try await sidecar.waitForStatus(timeout: .seconds(30), "WAITING on the server") {
                    $0["status.jobStatus"] == "WAITING" && ($0["status.message"] ?? "").contains("HTTP")
                }
                try await Task.sleep(for: .seconds(2))
                let readyz = try await TestEnvironment.shell(["curl", "-s", "http://127.0.0.1:\(port)/readyz"]).output
                #expect(!server.requests.isEmpty, "the server was asked")
                for (place, text) in [("status files", status.values.joined(separator: "\n")), ("log", sidecar.log), ("/readyz", readyz)] {
                    #expect(!text.contains(token), "the token is in the \(place)")
                }
                await sidecar.stop()
            }
            #expect(elsewhere.requests.isEmpty, "a redirect was followed: \(elsewhere.requests)")
        }

        /// Numbers reach the app as written in the ConfigMap, and so do runtime_env values.
        @Test func numbersReachTheAppExactlyAsWritten() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("numbers")
            defer { ws.cleanup() }
            var values = ConfigMapValues.inline(
                script: try TestEnvironment.app("echo_kwargs.py"),
                parameters: #"{"big": 12345678901234567890, "one": 1.0, "hundred": 1e2, "neg": -0.5}"#)
            values["jobproperties"] = #"{"entrypoint_num_cpus": 0.50}"#
            _ = try KubeletConfigMap(directory: ws.configDir, values: values)
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            let id = try #require(try await sidecar.waitForStatus("SUCCEEDED") { $0["status.jobStatus"] == "SUCCEEDED" }["id"])
            let logs = try await RayHead.client().logs(id)
            let line = try #require(logs.split(separator: "\n").first { $0.hasPrefix("RAYBRIDGE_ECHO ") }, "log: \(logs)")
            let echoed = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst("RAYBRIDGE_ECHO ".count).utf8)) as? [String: Any])
            let kwargs = try #require(echoed["kwargs"] as? [String: String])
            #expect(kwargs["big"] == "12345678901234567890")
            #expect(kwargs["one"] == "1.0")
            #expect(kwargs["hundred"] == "1e2")
            #expect(kwargs["neg"] == "-0.5")
            await sidecar.stop()
        }
    }
}
