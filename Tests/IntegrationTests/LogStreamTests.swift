import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// The driver log streamed to the real moto S3 while the job runs on the real Ray: the object
    /// must equal Ray's own copy byte for byte, whatever happens in between.
    @Suite struct LogStreamTests {
        @Test(arguments: [0, 1024, (5 << 20) - 1, (5 << 20) + 1, 40 << 20])
        func theObjectEqualsRaysLogByteForByte(size: Int) async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let ws = try Workspace("log\(size)")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(directory: ws.configDir, values: try ConfigMapValues.logShipping(["bytes": size]))
            let sidecar = try ws.logShippingSidecar()
            defer { sidecar.signal(SIGKILL) }
            let status = try await sidecar.waitForStatus(timeout: .seconds(180), "log of \(size) bytes complete", LogStatus.complete)
            #expect(status["status.jobStatus"] == "SUCCEEDED")
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            // Ray adds a few lines of its own, so the parts follow the log's real size.
            let bytes = LogStatus.info(status)?["bytes"] as? Int ?? 0
            #expect(LogStatus.info(status)?["parts"] as? Int == max(1, (bytes + (5 << 20) - 1) / (5 << 20)))
            await sidecar.stop()
        }

        /// The pod is deleted right after its run ended: SIGTERM as soon as the status says
        /// SUCCEEDED, and no process after it. Once the sidecar has exited, the object is complete
        /// and byte-exact, and no upload is left open: there is nobody left to finish it.
        @Test(arguments: [1024, 12 << 20])
        func aSigtermRightAfterTheEndCompletesTheLogBeforeExiting(size: Int) async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let ws = try Workspace("logterm\(size)")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(directory: ws.configDir, values: try ConfigMapValues.logShipping(["bytes": size]))
            let sidecar = try ws.logShippingSidecar()
            defer { sidecar.signal(SIGKILL) }
            let ended = try await sidecar.waitForStatus(timeout: .seconds(180), "SUCCEEDED") { $0["status.jobStatus"] == "SUCCEEDED" }
            sidecar.signal(SIGTERM)
            let code = await sidecar.waitForExit(timeout: .seconds(30))
            #expect(code == 0, "\(sidecar.log.suffix(3000))")
            let final = StatusDirectory.read(ws.statusDir)
            #expect(LogStatus.complete(final), "status after the exit: \(LogStatus.info(final) ?? [:])")
            #expect(LogStatus.info(final)?["resumable"] as? Bool == false)
            try await ShippedLog.expectByteExact(final, jobName: ws.jobName)
            // Whether the shutdown had anything left to do: printed, since Ray and S3 set the pace.
            print("log of \(size) bytes: complete when SIGTERM was sent: \(LogStatus.complete(ended)), parts: \(LogStatus.parts(final))")
        }

        @Test func sigkillInTheMiddleOfAStreamThenRestartStaysByteExact() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let ws = try Workspace("logkill")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(directory: ws.configDir, values: try ConfigMapValues.logShipping(["bytes": 40 << 20, "seconds": 12]))
            let first = try ws.logShippingSidecar()
            try await first.waitForStatus("two parts shipped") { LogStatus.parts($0) >= 2 }
            await first.sigkill()
            let second = try ws.logShippingSidecar()
            defer { second.signal(SIGKILL) }
            let status = try await second.waitForStatus(timeout: .seconds(180), "log complete after the restart", LogStatus.complete)
            #expect(second.log.contains("resuming the log upload"), "\(second.log.suffix(3000))")
            if try await RayHead.version().logFraming.followStreamIsExact {
                // The run ended while followed: its end was read through the file endpoint, exactly.
                #expect(second.log.contains("reading the rest of its log to the end of the file"), "\(second.log.suffix(3000))")
            }
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
            await second.stop()
        }

        /// Attaching (`id`) to a run that is already over ships its whole log, and submits nothing.
        @Test func attachingToAFinishedRunShipsItsWholeLog() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let runner = try Workspace("logrun")
            defer { runner.cleanup() }
            var config = try ConfigMapValues.logShipping(["bytes": 12 << 20])
            for key in ["s3.endpoint", "s3.secure", "s3.secret", "s3upload.bucket"] { config[key] = nil }
            _ = try KubeletConfigMap(directory: runner.configDir, values: config)
            let first = try runner.sidecar()
            defer { first.signal(SIGKILL) }
            let id = try await first.waitForStatus("SUCCEEDED without S3") { $0["status.jobStatus"] == "SUCCEEDED" }["id"]!
            await first.stop()

            let ws = try Workspace("logattach")
            defer { ws.cleanup() }
            var attach = try ConfigMapValues.logShipping([:])
            attach["id"] = id
            attach["jobdata.jobScript"] = nil
            attach["jobdata.jobParameters"] = nil
            _ = try KubeletConfigMap(directory: ws.configDir, values: attach)
            let sidecar = try ws.logShippingSidecar()
            defer { sidecar.signal(SIGKILL) }
            let status = try await sidecar.waitForStatus(timeout: .seconds(120), "the finished run's log complete", LogStatus.complete)
            #expect(status["id"] == id)
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            #expect(try await RayHead.submissions(of: ws.jobName).isEmpty)
            await sidecar.stop()
        }

        @Test(arguments: ["503", "refuse"])
        func s3FailingForAWhileMidStreamLosesNothing(fault: String) async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let proxy = try await FaultProxy(port: 9100 + (fault == "503" ? 0 : 1))
            defer { proxy.stop() }
            let ws = try Workspace("logfault")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(
                directory: ws.configDir,
                values: try ConfigMapValues.logShipping(["bytes": 40 << 20, "seconds": 15], endpoint: "127.0.0.1:\(proxy.port)"))
            let sidecar = try ws.logShippingSidecar()
            defer { sidecar.signal(SIGKILL) }
            try await sidecar.waitForStatus("a part shipped") { LogStatus.parts($0) >= 1 }
            try proxy.fail(fault)
            // Long enough for several retries (0.5 s doubling) while the driver keeps writing.
            try await Task.sleep(for: .seconds(10))
            let during = StatusDirectory.read(ws.statusDir)
            #expect(
                (LogStatus.info(during)?["error"] as? String)?.isEmpty == false, "the status should say S3 is failing: \(during["status.json"] ?? "")"
            )
            proxy.heal()
            let status = try await sidecar.waitForStatus(timeout: .seconds(180), "log complete after S3 came back", LogStatus.complete)
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            await sidecar.stop()
        }

        @Test func bridgeStyleS3ScriptAndExtrasRunToSucceededAndAWrongBucketIsNamed() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let s3 = S3Server.client()
            let prefix = "it-\(UUID().uuidString.prefix(6))"
            try await s3.putObject(bucket: "ray-scripts", key: "\(prefix)/code.py", body: .init(string: try TestEnvironment.app("echo_kwargs.py")))
            try await s3.putObject(
                bucket: "ray-scripts", key: "\(prefix)/metadata.json", body: .init(string: #"{"env": {"RB_FROM_S3": "yes it is"}}"#))
            try await s3.putObject(
                bucket: "ray-scripts", key: "\(prefix)/parameters.json", body: .init(string: #"{"iterations": 3, "label": "from s3"}"#))
            let ws = try Workspace("s3script")
            defer { ws.cleanup() }
            var values: [String: String] = [
                "resourceURL": TestEnvironment.rayURL, "updateInterval": "1",
                "jobdata.scriptLocation": "s3", "jobdata.jobScript": "ray-scripts:\(prefix)/code.py",
                "jobdata.scriptExtraLocation": "s3", "jobdata.scriptMetadata": "ray-scripts:\(prefix)/metadata.json",
                "jobdata.jobParameters": "ray-scripts:\(prefix)/parameters.json",
                "s3.endpoint": S3Server.endpoint, "s3.secure": "false", "s3.secret": "mysecret-s3", "s3upload.bucket": ConfigMapValues.logBucket,
                "jobproperties": "", "resourcesecret": "mysecret", "s3upload.files": "", "jobdata.additionalData": "",
            ]
            var cm = try KubeletConfigMap(directory: ws.configDir, values: values)
            let sidecar = try ws.logShippingSidecar()
            defer { sidecar.signal(SIGKILL) }
            let status = try await sidecar.waitForStatus("S3 script SUCCEEDED", LogStatus.complete)
            #expect(status["status.jobStatus"] == "SUCCEEDED")
            let logs = try await RayHead.client().logs(status["id"]!)
            let line = try #require(logs.split(separator: "\n").first { $0.hasPrefix("RAYBRIDGE_ECHO ") })
            let echoed = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst("RAYBRIDGE_ECHO ".count).utf8)) as? [String: Any])
            #expect(
                echoed["kwargs"] as? [String: String] == [
                    "s3_secret": "mysecret-s3", "s3_bucket": ConfigMapValues.logBucket, "s3_prefix": "\(ws.jobName)/", "s3_secure": "False",
                    "iterations": "3", "label": "from s3",
                ])
            #expect(echoed["env"] as? [String: String] == ["RB_FROM_S3": "yes it is"])

            values["jobdata.jobScript"] = "no-such-bucket-rb:\(prefix)/code.py"
            try cm.update(["jobdata.jobScript": values["jobdata.jobScript"]])
            let invalid = try await sidecar.waitForStatus(timeout: .seconds(60), "a wrong bucket is named") { $0["status.jobStatus"] == "INVALID" }
            #expect(invalid["status.message"]?.contains("no-such-bucket-rb") == true)
            #expect(invalid["status.message"]?.contains("\(prefix)/code.py") == true)
            await sidecar.stop()
        }
    }
}
