import Foundation
import RayBridgeClients
import RayBridgeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// `--driver-log-stdout` against the real Ray (and moto): what `kubectl logs` would read from
    /// the sidecar's standard output is Ray's driver log, across a SIGTERM and a SIGKILL.
    @Suite struct DriverLogStdoutTests {
        @Test(arguments: [false, true])
        func standardOutputIsRaysLogAcrossASigtermAndASigkill(s3: Bool) async throws {
            try await RayHead.ensure(.open)
            if s3 { try await S3Server.ensure() }
            let ws = try Workspace(s3 ? "stdouts3" : "stdout")
            defer { ws.cleanup() }
            let parameters: [String: Any] = ["bytes": 6 << 20, "seconds": 15]
            let values =
                s3
                ? try ConfigMapValues.logShipping(parameters)
                : ConfigMapValues.inline(script: try TestEnvironment.app("log_generator.py"), parameters: ConfigMapValues.json(parameters))
            _ = try KubeletConfigMap(directory: ws.configDir, values: values)
            let arguments = ["--driver-log-stdout", "--log-format", "json"]
            func sidecar(_ n: Int) throws -> SidecarProcess {
                let path = ws.statusDir + ".stdout\(n)"
                return s3
                    ? try ws.logShippingSidecar(arguments: arguments, stdoutPath: path) : try ws.sidecar(arguments: arguments, stdoutPath: path)
            }
            func printed(_ n: Int) -> Data { FileManager.default.contents(atPath: ws.statusDir + ".stdout\(n)") ?? Data() }

            let first = try sidecar(0)
            defer { first.signal(SIGKILL) }
            try await eventually("a first stretch printed", timeout: .seconds(60), every: .milliseconds(100)) { printed(0).count > 500_000 }
            await first.stop()
            let second = try sidecar(1)
            defer { second.signal(SIGKILL) }
            try await eventually("a second stretch printed", timeout: .seconds(60), every: .milliseconds(100)) { printed(1).count > 500_000 }
            await second.sigkill()
            let third = try sidecar(2)
            defer { third.signal(SIGKILL) }
            let id = try #require(try await third.waitForStatus(timeout: .seconds(120), "SUCCEEDED") { $0["status.jobStatus"] == "SUCCEEDED" }["id"])
            let ray = Data(try await RayHead.client().logs(id).utf8)
            try await eventually("all of it printed", timeout: .seconds(60), every: .milliseconds(200)) {
                printed(2).count > 0 && ray.suffix(printed(2).count) == printed(2)
            }
            await third.stop()

            let (a, b, c) = (printed(0), printed(1), printed(2))
            // After the SIGTERM: the second process goes on exactly where the first stopped.
            #expect(ray.prefix(a.count) == a, "the first process printed the log's start")
            #expect(ray.dropFirst(a.count).prefix(b.count) == b, "no line twice, none missing after the SIGTERM")
            // After the SIGKILL: nothing skipped; what was printed in the last moment may come again.
            let thirdFrom = ray.count - c.count
            #expect(ray.suffix(c.count) == c, "the third process printed on to the end")
            #expect(thirdFrom <= a.count + b.count, "nothing skipped after the SIGKILL")
            #expect(thirdFrom >= a.count, "at most what the second printed comes again")
            #expect(thirdFrom == 0 || ray[ray.index(ray.startIndex, offsetBy: thirdFrom - 1)] == UInt8(ascii: "\n"), "whole lines")
            print(
                "stdout \(s3 ? "with" : "without") S3: \(ray.count) bytes; printed \(a.count) + \(b.count) + \(c.count), again after SIGKILL: \(a.count + b.count - thirdFrom)"
            )
            // raybridge's own lines stay on standard error, each a JSON object.
            let own = third.log.split(separator: "\n")  // one file: the three processes append to it
            #expect(!own.isEmpty)
            for line in own {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line.prefix(200))")
            }
            if s3 { try await ShippedLog.expectByteExact(StatusDirectory.read(ws.statusDir), jobName: ws.jobName) }
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
        }
    }
}
