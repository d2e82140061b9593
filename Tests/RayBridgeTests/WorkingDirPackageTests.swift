import Foundation
import RayBridgeTestKit
import Testing
import ZIPFoundation

@testable import RayBridgeClients

/// The working_dir zip written by hand, read back by ZIPFoundation (an independent reader) and
/// by Python's zipfile (Ray's).
@Suite struct WorkingDirPackageTests {
    static let scripts = ["", "print('hi')\n", String(repeating: "import ray  # é 🚀\n", count: 20_000)]

    @Test(arguments: scripts) func zipFoundationReadsTheScriptBack(_ script: String) throws {
        let package = try WorkingDirPackage(script: script)
        let archive = try Archive(data: package.zip, accessMode: .read)
        let entries = Array(archive)
        #expect(entries.map(\.path) == ["script.py"])
        let entry = try #require(entries.first)
        #expect(entry.type == .file)
        #expect(entry.isCompressed)
        var out = Data()
        // Checks the entry's CRC-32 against the bytes.
        _ = try archive.extract(entry, skipCRC32: false) { out.append($0) }
        #expect(out == Data(script.utf8))
        #expect(package.zip.count < max(200, script.utf8.count / 5))
    }

    @Test func theSameScriptGivesTheSameNameAndBytes() throws {
        let a = try WorkingDirPackage(script: "print(1)\n")
        let b = try WorkingDirPackage(script: "print(1)\n")
        let c = try WorkingDirPackage(script: "print(2)\n")
        #expect(a == b)
        #expect(a.name != c.name)
        // As before the zip was written here: the hash covers the entry's name and content only.
        #expect(a.name == "_ray_pkg_cd150ffa9b3dc56d713b37f96c92c45f.zip")
        #expect(a.uri == "gcs://\(a.name)")
    }

    @Test func pythonsZipfileReadsItWithTheFilesMode() async throws {
        let package = try WorkingDirPackage(script: "print('hi')\n")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("raybridge-\(UUID().uuidString).zip").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try package.zip.write(to: URL(fileURLWithPath: path))
        let check = """
            import sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            (info,) = z.infolist()
            print(info.filename, oct(info.external_attr >> 16), info.date_time, z.read(info).decode(), end="")
            """
        let output = try await ChildProcess.run(["python3", "-c", check, path])
        #expect(output.status == 0, "\(output.text)")
        #expect(output.text == "script.py 0o100644 (1980, 1, 1, 0, 0, 0) print('hi')\n")
    }
}
