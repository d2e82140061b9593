import Foundation
import Testing

extension IntegrationSuite {
    /// `raybridge validate`, the real binary, on the shipped examples and on broken ConfigMaps.
    @Suite struct ValidateCommandTests {
        static let broken: [(file: String, keys: [String])] = [
            ("bad-interval.yaml", ["updateInterval"]),
            ("bad-parameters.yaml", ["jobdata.jobParameters"]),
            ("missing-url.yaml", ["resourceURL"]),
            ("bad-bucket.yaml", ["s3upload.bucket"]),
            ("bad-s3-script.yaml", ["jobdata.jobScript"]),
            ("bad-jobproperties.yaml", ["jobproperties"]),
            ("bad-lifecycle.yaml", ["backoffLimit", "activeDeadlineSeconds"]),
            ("bad-files.yaml", ["jobdata.file.helper.py", "jobdata.file.script.py"]),
            ("hostile-input.yaml", ["resourceURL", "jobdata.jobParameters", "jobproperties", "s3.endpoint"]),
        ]

        @Test(arguments: broken.map(\.file))
        func aBrokenConfigMapFailsNamingEachKey(file: String) async throws {
            let path = TestEnvironment.repoRoot.appendingPathComponent("examples/configmaps/broken/\(file)").path
            let (status, output) = try await TestEnvironment.shell([TestEnvironment.binary, "validate", path])
            #expect(status == 1, "\(output)")
            for key in Self.broken.first(where: { $0.file == file })!.keys {
                #expect(output.contains(": \(key): "), "\(file) should name \(key): \(output)")
            }
            #expect(!output.contains("hunter"), "no password or query value is echoed: \(output)")
        }

        @Test(arguments: [
            "inline-counter.yaml", "s3-script.yaml", "cluster-path.yaml", "demo.yaml", "retrying.yaml", "several-files.yaml", "s3-zip.yaml",
        ])
        func theExamplesPass(file: String) async throws {
            let path = TestEnvironment.repoRoot.appendingPathComponent("examples/configmaps/\(file)").path
            let (status, output) = try await TestEnvironment.shell([TestEnvironment.binary, "validate", path])
            #expect(status == 0, "\(output)")
            #expect(output.contains("valid"))
        }

        @Test func aMountedDirectoryIsCheckedToo() async throws {
            let dir = try TestEnvironment.temporaryDirectory("validate")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            _ = try KubeletConfigMap(directory: dir, values: ["resourceURL": "http://127.0.0.1:8265", "kill": "perhaps"])
            let (status, output) = try await TestEnvironment.shell([TestEnvironment.binary, "validate", dir])
            #expect(status == 1)
            #expect(output.contains(": kill: "))
            #expect(output.contains(": jobdata.jobScript: "))
        }
    }
}
