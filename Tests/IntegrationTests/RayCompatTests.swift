import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// What differs between Ray releases, checked against whichever release runs (`make compat`
    /// runs this suite against each of `RAY_VERSIONS`).
    @Suite struct RayCompatTests {
        /// A log whose last line has no newline, of a size that ends mid-block of the old framing.
        @Test func aLogEndingWithoutANewlineIsByteExactAndTheStatusNamesTheRelease() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let version = try await RayHead.version()
            let ws = try Workspace("nonl")
            defer { ws.cleanup() }
            var config = try ConfigMapValues.logShipping([:])
            config["jobdata.jobScript"] = """
                import sys
                sys.stdout.write("1" * 70000 + "\\n0 and 1 at the start of lines\\n" + "10" * 40000 + "\\nthe last line has no newline")
                sys.stdout.flush()
                """
            _ = try KubeletConfigMap(directory: ws.configDir, values: config)
            let sidecar = try ws.logShippingSidecar()
            defer { sidecar.signal(SIGKILL) }
            let status = try await sidecar.waitForStatus(timeout: .seconds(120), "log complete", LogStatus.complete)
            #expect(status["status.jobStatus"] == "SUCCEEDED")
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(status["status.json"]!.utf8)) as? [String: Any])
            #expect(json["rayVersion"] as? String == version.text)
            #expect(sidecar.log.contains("connected to Ray"), "the version is logged")
            await sidecar.stop()
        }

        /// `entrypoint_label_selector` exists from Ray 2.54: older clusters get INVALID naming the key
        /// and the version, and a running job is left alone; newer ones take the submission.
        @Test func aFieldTheClustersReleaseLacksIsInvalidAndLeavesTheRunningJobAlone() async throws {
            try await RayHead.ensure(.open)
            let version = try await RayHead.version()
            let ws = try Workspace("fields")
            defer { ws.cleanup() }
            var configMap = try KubeletConfigMap(directory: ws.configDir, values: ConfigMapValues.inline(script: "import time; time.sleep(600)"))
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }
            let running = try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }
            let id = try #require(running["id"])

            if version < RayVersion(2, 54, 0) {
                try configMap.update(["jobproperties": #"{"entrypoint_label_selector": {"raybridge-test-zone": "a"}}"#])
                let status = try await sidecar.waitForStatus("INVALID") { $0["status.jobStatus"] == "INVALID" }
                let message = status["status.message"] ?? ""
                #expect(message.contains("jobproperties: entrypoint_label_selector needs Ray 2.54.0"), "\(message)")
                #expect(message.contains("runs Ray \(version.text)"), "\(message)")
                try await Task.sleep(for: .seconds(3))
                #expect(try await RayHead.client().job(id).status == .running, "the running job is left alone")
                #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
            } else {
                // The release knows the field: the edit is a new revision, submitted, and placed by
                // the label every node has (a selector no node matches would stay PENDING, unstoppable).
                let node = try #require(try await RayHead.client().job(id).driverNodeId)
                try configMap.update(["jobproperties": #"{"entrypoint_label_selector": {"ray.io/node-id": "\#(node)"}}"#])
                try await sidecar.waitForStatus("the new revision running") { $0["id"] != id && $0["status.jobStatus"] == "RUNNING" }
                #expect(try await RayHead.client().job(id).status == .stopped)
            }
            // A ConfigMap the cluster cannot run stops nothing, kill included: drop the field too.
            try configMap.update(["jobproperties": nil, "kill": "true"])
            try await sidecar.waitForStatus("STOPPED") { $0["status.jobStatus"] == "STOPPED" }
            await sidecar.stop()
        }

        /// With token auth the log still reaches S3 byte-exact: on Ray 2.52.x, whose state API
        /// refuses the token, through the job API instead. (Named `tokenAuth...`: `make compat`
        /// leaves it out below 2.52, which has no token auth.)
        @Test(.rayHead(.exclusive)) func tokenAuthTheLogStillReachesS3ByteExact() async throws {
            let token = "rb-test-token-\(UUID().uuidString.prefix(8))"
            try await RayHead.with(.token(token)) {
                try await S3Server.ensure()
                let tokenDir = try TestEnvironment.temporaryDirectory("logtoken")
                defer { try? FileManager.default.removeItem(atPath: tokenDir) }
                try token.write(toFile: tokenDir + "/token", atomically: true, encoding: .utf8)
                let ws = try Workspace("logtoken")
                defer { ws.cleanup() }
                _ = try KubeletConfigMap(directory: ws.configDir, values: try ConfigMapValues.logShipping(["bytes": 6 << 20, "seconds": 4]))
                let sidecar = try SidecarProcess(
                    configDir: ws.configDir, statusDir: ws.statusDir, jobName: ws.jobName, rayCredentialsDir: tokenDir,
                    arguments: ["--s3-credentials-dir", S3Server.credentialsDirectory])
                defer { sidecar.signal(SIGKILL) }
                let status = try await sidecar.waitForStatus(timeout: .seconds(120), "log complete", LogStatus.complete)
                #expect(status["status.jobStatus"] == "SUCCEEDED")
                let id = try #require(status["id"])
                let object = try await S3Server.client().getObject(
                    bucket: ConfigMapValues.logBucket, key: "\(ws.jobName)/logs/\(id).log", maxBytes: 1 << 30)
                let ray = Data(try await RayHead.client(token: token).logs(id).utf8)
                #expect(object.count == ray.count, "object \(object.count) bytes, Ray \(ray.count) bytes")
                #expect(object == ray)
                await sidecar.stop()
            }
        }
    }
}
