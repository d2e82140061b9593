import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import RayBridgeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// The sidecar end to end: the real binary, a real Ray head, a ConfigMap directory updated the
    /// way the kubelet does it. One Ray cluster serves them all, so they run one at a time.
    @Suite struct SidecarCoreTests {
        @Test func inlineScriptGetsExactlyTheParametersAndEnvGivenAndNothingIsInjected() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("echo")
            defer { ws.cleanup() }
            let marker = "/tmp/raybridge-pwned-\(UUID().uuidString.prefix(8))"
            let hostile =
                [
                    "space": "two words", "quote": "it's \"quoted\"", "subst": "$(touch \(marker))", "tick": "`touch \(marker)`",
                    "semi": "a; touch \(marker)", "newline": "line1\nline2", "unicode": "naïve – 日本語 🚀", "empty": "",
                    "glob": "*", "dollar": "$HOME", "backslash": "a\\b", "number": 10, "bool": true,
                ] as [String: Any]
            let env = ["RB_PLAIN": "v1", "RB_TRICKY": "$(touch \(marker)) 'x' \"y\" `z`;\nnext", "RB_UNICODE": "ü 🚀"]
            var values = ConfigMapValues.inline(script: try TestEnvironment.app("echo_kwargs.py"), parameters: ConfigMapValues.json(hostile))
            values["jobdata.scriptMetadata"] = ConfigMapValues.json(["env": env])
            _ = try KubeletConfigMap(directory: ws.configDir, values: values)
            let sidecar = try ws.sidecar()

            let status = try await sidecar.waitForStatus("SUCCEEDED") { $0["status.jobStatus"] == "SUCCEEDED" }
            await sidecar.stop()

            let id = try #require(status["id"])
            let revision = Revision(values: values)
            #expect(id == "\(ws.jobName)-1-\(revision.short)")
            for key in ["status.submitTime", "status.startTime", "status.endTime"] {
                #expect(status[key]?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "\(key) = \(status[key] ?? "nil")")
            }
            let statusJSON = try #require(try JSONSerialization.jsonObject(with: Data(status["status.json"]!.utf8)) as? [String: Any])
            #expect(statusJSON["revision"] as? String == revision.hex)
            #expect(statusJSON["sequence"] as? Int == 1)

            let logs = try await RayHead.client().logs(id)
            let line = try #require(logs.split(separator: "\n").first { $0.hasPrefix("RAYBRIDGE_ECHO ") }, "log: \(logs)")
            let echoed = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst("RAYBRIDGE_ECHO ".count).utf8)) as? [String: Any])
            let kwargs = try #require(echoed["kwargs"] as? [String: String])
            var expected: [String: String] = [:]
            for (key, value) in hostile {
                expected[key] =
                    switch value {
                    case let b as Bool: b ? "True" : "False"
                    default: "\(value)"
                    }
            }
            #expect(kwargs == expected)
            #expect(echoed["env"] as? [String: String] == env)
            #expect(!FileManager.default.fileExists(atPath: marker), "an injected command ran")
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
        }

        @Test func editWhileRunningStopsAndResubmitsAndKillAndResubmitWork() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("edit")
            defer { ws.cleanup() }
            var cm = try KubeletConfigMap(
                directory: ws.configDir,
                values: ConfigMapValues.inline(script: try TestEnvironment.app("sleeper.py"), parameters: #"{"seconds": 120}"#))
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }

            let first = try await sidecar.waitForStatus("first run RUNNING") { $0["status.jobStatus"] == "RUNNING" }["id"]!
            try cm.update(["jobdata.jobParameters": #"{"seconds": 2}"#])
            let second = try await sidecar.waitForStatus("second run SUCCEEDED") { $0["status.jobStatus"] == "SUCCEEDED" && $0["id"] != first }["id"]!
            let client = try RayHead.client()
            #expect(try await client.job(first).status == .stopped)
            #expect(second.hasPrefix("\(ws.jobName)-2-"))

            // Going back to the first revision reruns nothing (it has run once): a new value does.
            try cm.update(["jobdata.jobParameters": #"{"seconds": 120}"#])
            try await sidecar.waitForStatus("back to the first run") { $0["id"] == first && $0["status.jobStatus"] == "STOPPED" }
            #expect(try await RayHead.submissions(of: ws.jobName).count == 2)
            // kill stops a run (a suspend); setting it back runs the same revision again, as one
            // new submission (third round, like KubeRay's suspend); resubmit runs a new one.
            try cm.update(["jobdata.jobParameters": #"{"seconds": 121}"#])
            let third = try await sidecar.waitForStatus("third run RUNNING") { $0["status.jobStatus"] == "RUNNING" && $0["id"] != second }["id"]!
            try cm.update(["kill": "true"])
            try await sidecar.waitForStatus("third run STOPPED") { $0["status.jobStatus"] == "STOPPED" && $0["id"] == third }
            #expect(try await client.job(third).status == .stopped)
            try await Task.sleep(for: .seconds(2))
            #expect(try await RayHead.submissions(of: ws.jobName).count == 3, "nothing runs while kill is true")
            try cm.update(["kill": "false"])
            let resumed = try await sidecar.waitForStatus("the job runs again") { $0["status.jobStatus"] == "RUNNING" && $0["id"] != third }["id"]!
            #expect(resumed.hasPrefix("\(ws.jobName)-4-"))
            #expect(resumed.hasSuffix(String(third.suffix(8))), "the same revision")
            try await Task.sleep(for: .seconds(2))
            #expect(try await RayHead.submissions(of: ws.jobName).count == 4, "one submission for the resume")

            try cm.update(["resubmit": "again", "jobdata.jobParameters": #"{"seconds": 1}"#])
            let fifth = try await sidecar.waitForStatus("resubmitted run SUCCEEDED") { $0["status.jobStatus"] == "SUCCEEDED" && $0["id"] != resumed }[
                "id"]!
            #expect(fifth.hasPrefix("\(ws.jobName)-5-"))
            let all = try await RayHead.submissions(of: ws.jobName)
            #expect(all.map(\.status) == [.stopped, .succeeded, .stopped, .stopped, .succeeded])
            await sidecar.stop()
        }

        /// SIGKILL at the worst moments, then a restart: never a second submission of one revision.
        @Test(arguments: ["after-journal", "after-submit", "while-running", "while-running+wiped", "after-submit+wiped"])
        func sigkillNeverSubmitsTwice(point: String) async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("crash")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(
                directory: ws.configDir, values: ConfigMapValues.inline(script: try TestEnvironment.app("sleeper.py"), parameters: #"{"seconds": 4}"#)
            )
            let crashAt = point.hasPrefix("after-") ? String(point.split(separator: "+")[0]) : nil
            let first = try ws.sidecar(crashAt: crashAt)
            if crashAt != nil {
                let code = await first.waitForExit(timeout: .seconds(60))
                #expect(code == SIGKILL, "the crash hook should have killed it; log:\n\(first.log)")
            } else {
                try await first.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }
                await first.sigkill()
            }
            if point.hasSuffix("+wiped") {
                try FileManager.default.removeItem(atPath: ws.statusDir)
            }
            let second = try ws.sidecar()
            let status = try await second.waitForStatus("SUCCEEDED after restart") { $0["status.jobStatus"] == "SUCCEEDED" }
            await second.stop()
            let runs = try await RayHead.submissions(of: ws.jobName)
            #expect(runs.count == 1, "\(runs.map { $0.submissionId ?? "?" })\n\(second.log)")
            #expect(runs.first?.submissionId == status["id"])
        }

        @Test func invalidEditDuringARunLeavesItAloneAndNamesEveryBadKey() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("invalid")
            defer { ws.cleanup() }
            var cm = try KubeletConfigMap(
                directory: ws.configDir, values: ConfigMapValues.inline(script: try TestEnvironment.app("sleeper.py"), parameters: #"{"seconds": 8}"#)
            )
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            let id = try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }["id"]!

            try cm.update(["updateInterval": "often", "jobproperties": "{not json", "kill": "maybe", "jobdata.jobParameters": #"{"a=b": 1}"#])
            let invalid = try await sidecar.waitForStatus("INVALID") { $0["status.jobStatus"] == "INVALID" }
            for key in ["updateInterval", "jobproperties", "kill", "jobdata.jobParameters"] {
                #expect(invalid["status.message"]?.contains("- \(key):") == true, "\(invalid["status.message"] ?? "")")
            }
            #expect(invalid["id"] == id)
            let client = try RayHead.client()
            #expect(try await client.job(id).status == .running)

            // The run goes on to its natural end; fixing the ConfigMap shows it and submits nothing new.
            try await eventually("the run SUCCEEDED on Ray", timeout: .seconds(60), every: .milliseconds(200)) {
                try await client.job(id).status == .succeeded
            }
            try cm.update(["updateInterval": "1", "jobproperties": "", "kill": "false", "jobdata.jobParameters": #"{"seconds": 8}"#])
            try await sidecar.waitForStatus("SUCCEEDED after the fix") { $0["status.jobStatus"] == "SUCCEEDED" && $0["id"] == id }
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
            await sidecar.stop()
        }

        /// Without S3 nothing else follows the run: its end must still show long before the
        /// poll (updateInterval) would have seen it.
        @Test func withoutS3TheEndOfARunShowsWithoutWaitingForThePoll() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("end")
            defer { ws.cleanup() }
            var config = ConfigMapValues.inline(script: try TestEnvironment.app("sleeper.py"), parameters: #"{"seconds": 6}"#)
            config["updateInterval"] = "300"
            _ = try KubeletConfigMap(directory: ws.configDir, values: config)
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            let id = try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }["id"]!
            let client = try RayHead.client()
            try await eventually("the run SUCCEEDED on Ray", timeout: .seconds(60), every: .milliseconds(200)) {
                try await client.job(id).status == .succeeded
            }
            // The poll alone would take up to 300 s here; a minute of slack keeps this no timing test.
            let status = try await sidecar.waitForStatus(timeout: .seconds(60), "SUCCEEDED without the poll") {
                $0["status.jobStatus"] == "SUCCEEDED"
            }
            #expect(status["id"] == id)
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
            await sidecar.stop()
        }

        /// Job-style pods: the process ends with the run, 0 for SUCCEEDED and 1 for FAILED.
        @Test(arguments: [("print('done')", Int32(0), "SUCCEEDED"), ("raise SystemExit(3)", Int32(1), "FAILED")])
        func exitOnCompletionEndsTheProcessWithTheRunsOutcome(script: String, code: Int32, jobStatus: String) async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("exit\(code)")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(directory: ws.configDir, values: ConfigMapValues.inline(script: script))
            let sidecar = try ws.sidecar(arguments: ["--exit-on-completion"])
            defer { sidecar.signal(SIGKILL) }
            let exited = await sidecar.waitForExit(timeout: .seconds(120))
            #expect(exited == code, "\(sidecar.log.suffix(2000))")
            let status = StatusDirectory.read(ws.statusDir)
            #expect(status["status.jobStatus"] == jobStatus)
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
        }

        /// By default a run outlives its sidecar; `--stop-on-exit` stops it on SIGTERM.
        @Test func stopOnExitStopsTheRunOnSigtermAndTheDefaultLeavesItRunning() async throws {
            try await RayHead.ensure(.open)
            let client = try RayHead.client()
            for stopOnExit in [false, true] {
                let ws = try Workspace(stopOnExit ? "stopexit" : "keeprun")
                defer { ws.cleanup() }
                _ = try KubeletConfigMap(
                    directory: ws.configDir,
                    values: ConfigMapValues.inline(script: try TestEnvironment.app("sleeper.py"), parameters: #"{"seconds": 30}"#))
                let sidecar = try ws.sidecar(arguments: stopOnExit ? ["--stop-on-exit"] : [])
                defer { sidecar.signal(SIGKILL) }
                let id = try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }["id"]!
                sidecar.signal(SIGTERM)
                #expect(await sidecar.waitForExit(timeout: .seconds(10)) == 0)
                if stopOnExit {
                    try await eventually("the run STOPPED on Ray", timeout: .seconds(30), every: .milliseconds(200)) {
                        try await client.job(id).status == .stopped
                    }
                } else {
                    try await Task.sleep(for: .seconds(2))
                    #expect(try await client.job(id).status == .running)
                    _ = try await client.stop(id)
                }
            }
        }

        @Test(.rayHead(.exclusive)) func rayDownAtStartMeansWaitingThenTheJobIsSubmittedOnce() async throws {
            try await RayHead.stop()
            let ws = try Workspace("down")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(directory: ws.configDir, values: ConfigMapValues.inline(script: "print('hello')"))
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            let waiting = try await sidecar.waitForStatus(timeout: .seconds(90), "WAITING") {
                $0["status.jobStatus"] == "WAITING" && ($0["status.message"] ?? "").contains("unreachable")
            }
            #expect(waiting["status.message"]?.contains("127.0.0.1:\(TestEnvironment.rayPort)") == true)
            try await RayHead.ensure(.open)
            try await sidecar.waitForStatus("SUCCEEDED once Ray is up") { $0["status.jobStatus"] == "SUCCEEDED" }
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
            await sidecar.stop()
        }

        @Test(.rayHead(.exclusive)) func tokenAuthWrongOrMissingTokenIsAClearStatusAndARotatedTokenIsPickedUp() async throws {
            let token = "rb-test-token-\(UUID().uuidString.prefix(8))"
            try await RayHead.with(.token(token)) {

                // Missing token.
                let missing = try Workspace("notoken")
                defer { missing.cleanup() }
                _ = try KubeletConfigMap(directory: missing.configDir, values: ConfigMapValues.inline(script: "print('hello')"))
                let noToken = try missing.sidecar()
                try await noToken.waitForStatus(timeout: .seconds(30), "requires a token") {
                    ($0["status.message"] ?? "").contains("requires a token") && $0["status.jobStatus"] == "WAITING"
                }
                await noToken.stop()

                // Wrong token, then the Secret is rotated to the right one (kubelet-style) without a restart.
                let ws = try Workspace("token")
                defer { ws.cleanup() }
                let credentials = try TestEnvironment.temporaryDirectory("ray-credentials")
                defer { try? FileManager.default.removeItem(atPath: credentials) }
                let secret = KubeletAtomicWriter(directory: credentials)
                try secret.write(["token": Data("wrong-token".utf8)])
                _ = try KubeletConfigMap(directory: ws.configDir, values: ConfigMapValues.inline(script: "print('hello')"))
                let sidecar = try ws.sidecar(rayCredentialsDir: credentials)
                defer { sidecar.signal(SIGKILL) }
                let refused = try await sidecar.waitForStatus(timeout: .seconds(30), "token refused") {
                    ($0["status.message"] ?? "").contains("refused our token")
                }
                #expect(refused["status.jobStatus"] == "WAITING")
                #expect(!(refused["status.json"] ?? "").contains("wrong-token"), "a secret leaked into the status")
                #expect(!sidecar.log.contains("wrong-token"), "a secret leaked into the log")
                try secret.write(["token": Data("\(token)\n".utf8)])
                try await sidecar.waitForStatus("SUCCEEDED with the rotated token") { $0["status.jobStatus"] == "SUCCEEDED" }
                #expect(try await RayHead.submissions(of: ws.jobName, token: token).count == 1)
                #expect(!sidecar.log.contains(token))
                await sidecar.stop()
            }
        }
    }
}
