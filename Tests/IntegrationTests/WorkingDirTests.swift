import Foundation
import RayBridgeClients
import RayBridgeCore
import RayBridgeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// Jobs of several files on the real Ray: inline `jobdata.file.*` keys beside the script, and
    /// a whole working directory as a zip in moto.
    @Suite struct WorkingDirTests {
        /// The driver's line starting with `marker`, from Ray's own copy of the log.
        static func printed(_ marker: String, by status: [String: String]) async throws -> String {
            let logs = try await RayHead.client().logs(try #require(status["id"]))
            return try #require(logs.split(separator: "\n").first { $0.hasPrefix(marker + " ") }.map(String.init), "log:\n\(logs.suffix(3000))")
        }

        @Test func aJobOfThreeInlineFilesRunsAndPrintsWhatItsImportsReturn() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("files")
            defer { ws.cleanup() }
            let script = """
                import json, os
                import helper
                print("RB_FILES", helper.answer(), json.load(open("data.json"))["x"], os.path.basename(os.getcwd()), flush=True)
                """
            let helper = "def answer():\n    return 6 * 7\n"
            var values = ConfigMapValues.inline(script: script)
            values["jobdata.file.helper.py"] = helper
            values["jobdata.file.data.json"] = #"{"x": "from data.json"}"# + "\n"
            var cm = try KubeletConfigMap(directory: ws.configDir, values: values)
            let sidecar = try ws.sidecar()
            defer { sidecar.signal(SIGKILL) }

            let first = try await sidecar.waitForStatus("three files SUCCEEDED") { $0["status.jobStatus"] == "SUCCEEDED" }
            // The working directory Ray unpacked is the package named after the three files.
            let package = try WorkingDirPackage(
                script: script,
                files: [JobFile(name: "data.json", content: values["jobdata.file.data.json"]!), JobFile(name: "helper.py", content: helper)])
            #expect(try await Self.printed("RB_FILES", by: first) == "RB_FILES 42 from data.json \(package.name.dropLast(4))")

            // A file is part of the revision: changing it runs the job again, with the new file.
            try cm.update(["jobdata.file.helper.py": "def answer():\n    return 43\n"])
            let second = try await sidecar.waitForStatus("the edited helper SUCCEEDED") {
                $0["status.jobStatus"] == "SUCCEEDED" && $0["id"] != first["id"]
            }
            #expect(try await Self.printed("RB_FILES", by: second).hasPrefix("RB_FILES 43 from data.json _ray_pkg_"))

            try cm.update(["jobdata.file.script.py": "print('another script')\n"])
            let invalid = try await sidecar.waitForStatus("a file named script.py INVALID") { $0["status.jobStatus"] == "INVALID" }
            #expect(invalid["status.message"]?.contains("jobdata.file.script.py: script.py is the job's script") == true, "\(invalid)")
            await sidecar.stop()
        }

        /// A zip written by Python's zipfile and put into moto with boto3; returns the package name
        /// raybridge should give it (SHA-256 of "zip\0" and the bytes) and its size. The entries'
        /// times are fixed, so the same files make the same bytes.
        static func putZip(_ files: [String: String], key: String, randomBytes: Int = 0) async throws -> (name: String, size: Int) {
            let dir = S3Server.credentialsDirectory
            let script = """
                import boto3, hashlib, io, json, os, sys, zipfile
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                    for name, text in sorted(json.loads(sys.argv[3]).items()):
                        z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), text, zipfile.ZIP_DEFLATED)
                    if int(sys.argv[4]):
                        z.writestr(zipfile.ZipInfo("blob.bin", (2024, 1, 1, 0, 0, 0)), os.urandom(int(sys.argv[4])))  # stored
                data = buf.getvalue()
                key = open('\(dir)/accesskey').read().strip(); secret = open('\(dir)/secretkey').read().strip()
                s3 = boto3.client('s3', endpoint_url='http://\(S3Server.endpoint)', region_name='us-east-1',
                                  aws_access_key_id=key, aws_secret_access_key=secret)
                s3.put_object(Bucket=sys.argv[1], Key=sys.argv[2], Body=data)
                print("_ray_pkg_" + hashlib.sha256(b"zip\\0" + data).hexdigest()[:32] + ".zip", len(data))
                """
            let (status, output) = try await TestEnvironment.shell([
                RepositoryLayout.venvPython, "-c", script, "ray-scripts", key, ConfigMapValues.json(files), String(randomBytes),
            ])
            guard status == 0 else { throw TestFailure("cannot put the zip:\n\(output.suffix(2000))") }
            let words = output.split(whereSeparator: \.isWhitespace)
            return (String(words[words.count - 2]), Int(words[words.count - 1]) ?? 0)
        }

        static let zipScript = """
            import json, os
            import helper
            from lib import util
            blob = os.path.getsize("blob.bin") if os.path.exists("blob.bin") else 0
            print("RB_ZIP", util.answer(), helper.NAME, json.load(open("conf/data.json"))["x"], blob, os.path.basename(os.getcwd()), flush=True)
            """
        static let zipFiles = [
            "script.py": zipScript, "helper.py": "NAME = 'helper'\n", "lib/__init__.py": "",
            "lib/util.py": "def answer():\n    return 7\n", "conf/data.json": #"{"x": "conf"}"#,
        ]

        static func zipJob(_ key: String) -> [String: String] {
            [
                "resourceURL": TestEnvironment.rayURL, "updateInterval": "1",
                "jobdata.scriptLocation": "s3", "jobdata.jobScript": "ray-scripts:\(key)",
                "s3.endpoint": S3Server.endpoint, "s3.secure": "false", "s3upload.bucket": ConfigMapValues.logBucket,
            ]
        }

        @Test func aZipInS3IsTheWorkingDirectoryNamedByItsContentAndCheckedBeforeItIsSent() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let prefix = "it-\(UUID().uuidString.prefix(6))"
            // A file of this test's own: the package is new to the cluster, whatever ran before or beside.
            let files = Self.zipFiles.merging(["run.txt": prefix]) { $1 }
            let zip = try await Self.putZip(files, key: "\(prefix)/job.zip")
            let ws = try Workspace("zip")
            defer { ws.cleanup() }
            var cm = try KubeletConfigMap(directory: ws.configDir, values: Self.zipJob("\(prefix)/job.zip"))
            let port = LoopbackPort.next()
            let sidecar = try ws.logShippingSidecar(arguments: ["--listen", "127.0.0.1:\(port)"])
            defer { sidecar.signal(SIGKILL) }

            let first = try await sidecar.waitForStatus("the zip job SUCCEEDED", LogStatus.complete)
            #expect(first["status.jobStatus"] == "SUCCEEDED")
            #expect(try await Self.printed("RB_ZIP", by: first) == "RB_ZIP 7 helper conf 0 \(zip.name.dropLast(4))")
            // The driver log in S3 says the same.
            let object = try await S3Server.client().getObject(bucket: ConfigMapValues.logBucket, key: "\(ws.jobName)/logs/\(first["id"]!).log")
            #expect(String(decoding: object, as: UTF8.self).contains("RB_ZIP 7 helper conf"))

            // The same bytes under another key: another revision, the same package, not sent again.
            _ = try await Self.putZip(files, key: "\(prefix)/copy.zip")
            try cm.update(["jobdata.jobScript": "ray-scripts:\(prefix)/copy.zip"])
            let second = try await sidecar.waitForStatus("the copy SUCCEEDED", { $0["status.jobStatus"] == "SUCCEEDED" && $0["id"] != first["id"] })
            #expect(try await Self.printed("RB_ZIP", by: second).hasSuffix(String(zip.name.dropLast(4))))
            let metrics = try await ObservabilityTests.get(port, "/metrics").body
            #expect(
                ObservabilityTests.sample(metrics, "raybridge_ray_request_duration_seconds_count", #"endpoint="package_put""#) == 1, "\(metrics)")

            // A zip of the directory rather than of its contents, and no zip at all: INVALID, naming
            // the key and the object.
            var nested: [String: String] = [:]
            for (name, text) in Self.zipFiles { nested["job/\(name)"] = text }
            _ = try await Self.putZip(nested, key: "\(prefix)/nested.zip")
            try cm.update(["jobdata.jobScript": "ray-scripts:\(prefix)/nested.zip"])
            let invalid = try await sidecar.waitForStatus("a nested zip INVALID") { $0["status.jobStatus"] == "INVALID" }
            let message = invalid["status.message"] ?? ""
            #expect(
                message.contains("jobdata.jobScript: s3://ray-scripts/\(prefix)/nested.zip has no script.py at its root, but job/script.py"),
                "\(message)")

            try await S3Server.client().putObject(bucket: "ray-scripts", key: "\(prefix)/text.zip", body: .init(string: "print('no zip')\n"))
            try cm.update(["jobdata.jobScript": "ray-scripts:\(prefix)/text.zip"])
            let notZip = try await sidecar.waitForStatus("a text INVALID") {
                $0["status.jobStatus"] == "INVALID" && $0["status.message"]?.contains("text.zip") == true
            }
            #expect(notZip["status.message"]?.contains("s3://ray-scripts/\(prefix)/text.zip is not a zip archive") == true)
            await sidecar.stop()
        }

        /// The sidecar's peak resident memory (`VmHWM`), in bytes.
        static func peakMemory(_ sidecar: SidecarProcess) throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(sidecar.process.processIdentifier)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
            return (Int(line.split(whereSeparator: \.isWhitespace)[1]) ?? 0) * 1024
        }

        @Test func aZipOfNinetyMiBIsCopiedFromS3ToRayInBoundedMemory() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let prefix = "it-\(UUID().uuidString.prefix(6))"
            let small = try await Self.putZip(Self.zipFiles, key: "\(prefix)/small.zip")
            let big = try await Self.putZip(Self.zipFiles, key: "\(prefix)/big.zip", randomBytes: 90 << 20)
            let ws = try Workspace("bigzip")
            defer { ws.cleanup() }
            var cm = try KubeletConfigMap(directory: ws.configDir, values: Self.zipJob("\(prefix)/small.zip"))
            let sidecar = try ws.logShippingSidecar()
            defer { sidecar.signal(SIGKILL) }
            let first = try await sidecar.waitForStatus("the small zip SUCCEEDED", LogStatus.complete)
            #expect(try await Self.printed("RB_ZIP", by: first).hasSuffix(String(small.name.dropLast(4))))
            let before = try Self.peakMemory(sidecar)

            try cm.update(["jobdata.jobScript": "ray-scripts:\(prefix)/big.zip"])
            let second = try await sidecar.waitForStatus(timeout: .seconds(240), "the big zip SUCCEEDED") {
                $0["id"] != first["id"] && LogStatus.complete($0)
            }
            #expect(second["status.jobStatus"] == "SUCCEEDED", "\(second["status.message"] ?? "")")
            #expect(try await Self.printed("RB_ZIP", by: second) == "RB_ZIP 7 helper conf \(90 << 20) \(big.name.dropLast(4))")
            let after = try Self.peakMemory(sidecar)
            print("zip of \(big.size) bytes: peak RSS \(before >> 20) MiB before, \(after >> 20) MiB after")
            #expect(after - before < 24 << 20, "peak RSS grew from \(before >> 20) to \(after >> 20) MiB for a zip of \(big.size >> 20) MiB")
            await sidecar.stop()
        }
    }
}
