import Foundation
import NIOHTTP1
import RayBridgeTestKit
import Testing

@testable import RayBridgeClients
@testable import RayBridgeCore

/// `jobdata.file.*` and the zip working directory in S3: the parser's rules, the package built
/// here read back by Python's `zipfile` (Ray's unpacker), and the listing of zips made elsewhere.
@Suite struct JobFilesTests {
    let parser = ConfigMapParser(jobName: "demo")
    let base = ["resourceURL": "http://127.0.0.1:8265", "jobdata.jobScript": "import helper\nprint(helper.answer())\n"]

    func parse(_ extra: [String: String]) -> ConfigParseResult {
        parser.parse(base.merging(extra) { $1 })
    }

    // MARK: The keys

    @Test func filesAreKnownSortedByNameAndKeptByteForByte() throws {
        let result = parse([
            "jobdata.file.helper.py": "def answer():\n    return 42\n",
            "jobdata.file.data.json": "  {\"x\": 1}\r\n\n",
            "jobdata.file.empty.txt": "",
        ])
        let spec = try #require(result.spec, "\(result)")
        #expect(result.warnings.isEmpty)
        #expect(
            spec.files == [
                JobFile(name: "data.json", content: "  {\"x\": 1}\r\n\n"), JobFile(name: "empty.txt", content: ""),
                JobFile(name: "helper.py", content: "def answer():\n    return 42\n"),
            ])
        #expect(spec.files.map(\.key) == ["jobdata.file.data.json", "jobdata.file.empty.txt", "jobdata.file.helper.py"])
    }

    @Test func everyFileIsPartOfTheRevisionAnEmptyOneToo() throws {
        let without = try #require(parse([:]).spec).revision
        let empty = try #require(parse(["jobdata.file.a.txt": ""]).spec).revision
        let blank = try #require(parse(["jobdata.file.a.txt": "\n"]).spec).revision
        let one = try #require(parse(["jobdata.file.a.txt": "1"]).spec).revision
        let other = try #require(parse(["jobdata.file.b.txt": "1"]).spec).revision
        #expect(Set([without, empty, blank, one, other]).count == 5)
        #expect(try #require(parse(["jobdata.file.a.txt": "1"]).spec).revision == one)
    }

    @Test(arguments: [
        ("jobdata.file.", "names no file"),
        ("jobdata.file.script.py", "script.py is the job's script"),
        ("jobdata.file..", "is not a file name"),
        ("jobdata.file...", "is not a file name"),
        ("jobdata.file.lib/util.py", "may only contain letters"),
        ("jobdata.file.a b.txt", "may only contain letters"),
        ("jobdata.file.é.txt", "may only contain letters"),
        ("jobdata.file." + String(repeating: "x", count: 256), "longer than 255 bytes"),
    ])
    func aBadNameIsInvalidNamingTheKey(key: String, message: String) throws {
        let result = parse([key: "x = 1\n"])
        let problems = try #require(result.problems)
        #expect(problems.map(\.key) == [key], "\(problems)")
        #expect(problems.first?.message.contains(message) == true, "\(problems)")
    }

    @Test func scriptPyInAnotherCaseIsAnotherFile() throws {
        #expect(parse(["jobdata.file.Script.py": "x = 1\n"]).spec?.files.map(\.name) == ["Script.py"])
    }

    @Test func aFileWithAClusterScriptIsInvalidNamingTheFile() throws {
        let result = parse([
            "jobdata.scriptLocation": "cluster", "jobdata.jobScript": "/opt/jobs/main.py", "jobdata.file.helper.py": "x = 1\n",
        ])
        let problems = try #require(result.problems)
        #expect(problems.map(\.key) == ["jobdata.file.helper.py"])
        #expect(problems.first?.message.contains("no working directory is sent") == true)
    }

    @Test func aNulInAFileIsInvalidAndSaysWhereBinaryFilesGo() throws {
        let result = parse(["jobdata.file.blob.bin": "a\0b"])
        let problems = try #require(result.problems)
        #expect(problems.map(\.key) == ["jobdata.file.blob.bin"])
        #expect(problems.first?.message.contains("NUL") == true)
        #expect(problems.first?.message.contains(".zip working directory in S3") == true)
    }

    /// `JobFiles.parse` alone: the whole parser would also hash and scan 100 MiB (20 s in a debug build).
    @Test func filesBeyondWhatRayAcceptsAreInvalidNamingTheLargest() throws {
        func problems(_ values: [String: String]) -> [ConfigProblem] {
            var problems: [ConfigProblem] = []
            _ = JobFiles.parse(values, script: .inline(base["jobdata.jobScript"]!)) { problems.append(ConfigProblem(key: $0, $1)) }
            return problems
        }
        func text(_ count: Int) -> String { String(decoding: Data(repeating: UInt8(ascii: "a"), count: count), as: UTF8.self) }
        let big = text(60 << 20)
        let tooMuch = problems(["jobdata.file.a.txt": big, "jobdata.file.b.txt": text((60 << 20) + 1), "jobdata.file.c.txt": "c"])
        #expect(tooMuch.map(\.key) == ["jobdata.file.b.txt"])
        #expect(tooMuch.first?.message.contains("more than the \(JobFiles.maxPackageBytes) bytes Ray accepts") == true)
        // Just below the limit, with the headers counted, it is valid.
        let fits = JobFiles.maxPackageBytes - base["jobdata.jobScript"]!.utf8.count - (100 + 2 * "script.py".count) - (100 + 2 * "a.txt".count)
        #expect(problems(["jobdata.file.a.txt": text(fits)]).isEmpty)
        #expect(problems(["jobdata.file.a.txt": text(fits + 1)]).map(\.key) == ["jobdata.file.a.txt"])
    }

    // MARK: The zip in S3

    let s3Keys = [
        "jobdata.scriptLocation": "s3", "s3.endpoint": "127.0.0.1:9000", "s3.secure": "false", "s3upload.bucket": "logs",
    ]

    @Test(arguments: ["jobs/job.zip", "jobs/JOB.ZIP", "job.Zip"])
    func anS3ObjectEndingInZipIsTheWorkingDirectory(key: String) throws {
        let spec = try #require(parse(s3Keys.merging(["jobdata.jobScript": "code:\(key)"]) { $1 }).spec)
        #expect(spec.script == .s3Zip(S3ObjectRef(bucket: "code", key: key)))
    }

    @Test func anS3ScriptTakesFilesBesideIt() throws {
        let spec = try #require(parse(s3Keys.merging(["jobdata.jobScript": "code:jobs/main.py", "jobdata.file.helper.py": "x = 1\n"]) { $1 }).spec)
        #expect(spec.script == .s3(S3ObjectRef(bucket: "code", key: "jobs/main.py")))
        #expect(spec.files.map(\.name) == ["helper.py"])
    }

    @Test func filesBesideAZipAreInvalidNamingEachFile() throws {
        let result = parse(
            s3Keys.merging(["jobdata.jobScript": "code:jobs/job.zip", "jobdata.file.helper.py": "x = 1\n", "jobdata.file.data.json": "{}"]) { $1 })
        let problems = try #require(result.problems)
        #expect(problems.map(\.key) == ["jobdata.file.data.json", "jobdata.file.helper.py"])
        #expect(problems.first?.message.contains("put data.json into the zip") == true, "\(problems)")
    }

    @Test func submitBodyPointsAtTheWorkingDirectory() throws {
        let spec = try #require(parse(["jobdata.file.helper.py": "x = 1\n"]).spec)
        let run = RunRecord(submissionId: "demo-1-abc", revision: spec.revision, sequence: 1, submitted: false)
        let package = try WorkingDirPackage(script: "print(1)\n", files: spec.files)
        let body = SubmitRequestBuilder.body(jobName: "demo", run: run, spec: spec, extras: ScriptExtras(), workingDir: package.uri)
        #expect(body["runtime_env"] == .object(["working_dir": .string(package.uri)]))
        #expect(body["entrypoint"] == .string("exec python script.py"))
    }

    // MARK: The package built here

    /// Every entry of `zip` as Python's zipfile reads it: name, mode, size and the bytes (base64).
    static func pythonListing(_ zip: Data) async throws -> [[String: Any]] {
        let path = NSTemporaryDirectory() + "raybridge-\(UUID().uuidString).zip"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try zip.write(to: URL(fileURLWithPath: path))
        let check = """
            import base64, json, sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            print(json.dumps([{"name": i.filename, "mode": oct(i.external_attr >> 16), "size": i.file_size,
                               "bytes": base64.b64encode(z.read(i)).decode()} for i in z.infolist()]))
            """
        let output = try await ChildProcess.run(["python3", "-c", check, path], standardErrorToo: false)
        #expect(output.status == 0, "\(output.text)")
        return try #require(try JSONSerialization.jsonObject(with: output.output) as? [[String: Any]])
    }

    @Test func thePackageHoldsTheScriptAndTheFilesByteForByte() async throws {
        let script = "import helper, json\nprint(helper.answer(), json.load(open('data.json')))\n"
        let files = [
            JobFile(name: "data.json", content: "{\"x\": [1, 2]}\r\n"), JobFile(name: "empty", content: ""),
            JobFile(name: "helper.py", content: String(repeating: "# é 🚀 padding\n", count: 5_000) + "def answer():\n    return 42\n"),
        ]
        let package = try WorkingDirPackage(script: script, files: files)
        let entries = try await Self.pythonListing(package.zip)
        #expect(entries.map { $0["name"] as? String } == ["script.py", "data.json", "empty", "helper.py"])
        #expect(entries.allSatisfy { $0["mode"] as? String == "0o100644" })
        let contents = entries.map { Data(base64Encoded: $0["bytes"] as? String ?? "") }
        #expect(contents == ([script] + files.map(\.content)).map { Data($0.utf8) })
        #expect(package.zip.count < 2_000, "compressed: \(package.zip.count) bytes")
    }

    @Test func theNameFollowsTheContentOfEveryFile() throws {
        let files = [JobFile(name: "a.py", content: "x = 1\n"), JobFile(name: "b.py", content: "y = 2\n")]
        let package = try WorkingDirPackage(script: "print(1)\n", files: files)
        #expect(try WorkingDirPackage(script: "print(1)\n", files: files) == package)
        // A lone script keeps the name it had before files existed.
        #expect(try WorkingDirPackage(script: "print(1)\n").name == "_ray_pkg_cd150ffa9b3dc56d713b37f96c92c45f.zip")
        var names: Set<String> = [package.name, try WorkingDirPackage(script: "print(1)\n").name]
        for changed in [
            [JobFile(name: "a.py", content: "x = 1\n"), JobFile(name: "b.py", content: "y = 3\n")],
            [JobFile(name: "a.py", content: "x = 1\n"), JobFile(name: "c.py", content: "y = 2\n")],
            // The same bytes, cut between the files elsewhere.
            [JobFile(name: "a.py", content: "x = 1\ny"), JobFile(name: "b.py", content: " = 2\n")],
            [JobFile(name: "a.py", content: "x = 1\n")],
        ] {
            names.insert(try WorkingDirPackage(script: "print(1)\n", files: changed).name)
        }
        #expect(names.count == 6)
        #expect(package.name.hasPrefix("_ray_pkg_") && package.name.hasSuffix(".zip") && package.name.count == 9 + 32 + 4)
    }

    // MARK: Zips made elsewhere

    /// A zip written by Python's zipfile from `spec` (a Python expression of (name, text) pairs),
    /// as a user's `zip` or `shutil.make_archive` would write it.
    static func pythonZip(_ spec: String, comment: String = "", prefix: String = "") async throws -> Data {
        let path = NSTemporaryDirectory() + "raybridge-\(UUID().uuidString).zip"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let make = """
            import sys, zipfile
            with open(sys.argv[1], "wb") as f:
                f.write(\(prefix.isEmpty ? "b''" : prefix))
                with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
                    for name, text in \(spec):
                        z.writestr(name, text)
                    z.comment = \(comment.isEmpty ? "b''" : comment)
            """
        let output = try await ChildProcess.run(["python3", "-c", make, path])
        #expect(output.status == 0, "\(output.text)")
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    func listing(_ zip: Data, tail: Int? = nil) throws -> [ZipDirectory.Entry] {
        let tailBytes = zip.suffix(tail ?? zip.count)
        let directory = try ZipDirectory.locate(tail: Data(tailBytes), archiveSize: Int64(zip.count))
        return try ZipDirectory.entries(zip.subdata(in: Int(directory.offset)..<Int(directory.offset + directory.size)))
    }

    @Test func aZipWithScriptPyAtItsRootIsAWorkingDirectory() async throws {
        let zip = try await Self.pythonZip(#"[("script.py", "import lib.util"), ("lib/util.py", "x = 1"), ("lib/", "")]"#)
        let entries = try listing(zip)
        #expect(entries.map(\.name) == ["script.py", "lib/util.py", "lib/"])
        #expect(entries.first?.method == 8)
        #expect(ZipDirectory.workingDirProblem(entries) == nil)
        // From the last bytes only, as they come from S3.
        #expect(try listing(zip, tail: ZipDirectory.tailBytes) == entries)
        #expect(try listing(zip, tail: 22 + entries.reduce(0) { $0 + 46 + $1.name.utf8.count }) == entries)
    }

    @Test func aLongCommentAndDataBeforeTheZipAreRead() async throws {
        let zip = try await Self.pythonZip(
            #"[("script.py", "print(1)")]"#, comment: #"b"c" * 65000"#, prefix: ##"b"#!/bin/sh\nexit 0\n" * 100"##)
        let entries = try listing(zip, tail: ZipDirectory.tailBytes)
        #expect(entries.map(\.name) == ["script.py"])
    }

    @Test func aZip64ArchiveIsRead() async throws {
        let zip = try await Self.pythonZip(#"[("script.py", "print(1)")] + [(f"d/{i}", "") for i in range(70000)]"#)
        let entries = try listing(zip, tail: ZipDirectory.tailBytes)
        #expect(entries.count == 70_001)
        #expect(ZipDirectory.workingDirProblem(entries) == nil)
    }

    @Test func aZipOfTheDirectoryItselfSaysHowToZipItsContents() async throws {
        let zip = try await Self.pythonZip(#"[("job/script.py", "print(1)"), ("job/helper.py", "")]"#)
        let problem = try #require(ZipDirectory.workingDirProblem(try listing(zip)))
        #expect(problem.contains("has no script.py at its root, but job/script.py"), "\(problem)")
        let none = try #require(ZipDirectory.workingDirProblem(try listing(try await Self.pythonZip(#"[("main.py", "")]"#))))
        #expect(none.contains("has no script.py at its root (1 entries)"), "\(none)")
    }

    @Test func entriesPythonCannotUnpackAreNamed() async throws {
        var zip = try await Self.pythonZip(#"[("script.py", "print(1)")]"#)
        let directory = try ZipDirectory.locate(tail: zip, archiveSize: Int64(zip.count))
        let entry = Int(directory.offset)
        zip[entry + 10] = 9  // Deflate64
        #expect(ZipDirectory.workingDirProblem(try listing(zip))?.contains("method 9") == true)
        zip[entry + 10] = 8
        zip[entry + 8] |= 1  // encrypted
        #expect(ZipDirectory.workingDirProblem(try listing(zip))?.contains("encrypted") == true)
    }

    @Test func somethingElseIsNoZip() throws {
        #expect(throws: ZipFormatError.self) { try listing(Data("print('hello')\n".utf8)) }
        #expect(throws: ZipFormatError.self) { try listing(Data()) }
        // An end record claiming a directory larger than what comes before it.
        var end = Data([0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18))
        end[12] = 0xFF
        #expect(throws: ZipFormatError.self) { try listing(end) }
        // A directory entry cut off.
        var cut = Data([0x50, 0x4B, 0x01, 0x02] + [UInt8](repeating: 0, count: 10))
        cut += Data([0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18))
        cut[14 + 12] = 14
        #expect(throws: ZipFormatError.self) { try listing(cut) }
    }
}

extension JobFilesTests {
    @Test func s3FailuresOfAZipAreSortedIntoWaitForAnEditAndTryAgain() {
        let ref = S3ObjectRef(bucket: "code", key: "job.zip")
        func error(_ status: Int, _ code: String?) -> S3Error {
            .service(status: status, response: code.map { S3ErrorResponse(code: $0) }, bucket: "code", key: "job.zip")
        }
        #expect(S3ZipError.classify(error(404, "NoSuchKey"), ref).isRetryable == false)
        #expect(S3ZipError.classify(error(404, "NoSuchBucket"), ref).isRetryable == false)
        #expect(S3ZipError.classify(error(416, nil), ref) == .unusable("s3://code/job.zip is empty, not a zip archive"))
        #expect(S3ZipError.classify(error(412, nil), ref) == .unreadable("s3://code/job.zip changed while it was read; it is read again"))
        #expect(S3ZipError.classify(error(412, "PreconditionFailed"), ref).isRetryable)
        #expect(S3ZipError.classify(error(403, "AccessDenied"), ref).isRetryable)
        #expect(S3ZipError.classify(error(503, "SlowDown"), ref).isRetryable)
        #expect(S3ZipError.classify(.unreachable(endpoint: "http://s3", reason: "refused"), ref).isRetryable)
    }

    @Test func theSizeOfAnObjectComesFromItsContentRange() {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Range", value: "bytes 100-199/200")
        #expect(S3ZipWorkingDir.objectSize(S3Client.Response(status: 206, headers: headers, body: Data(count: 100))) == 200)
        #expect(S3ZipWorkingDir.objectSize(S3Client.Response(status: 200, headers: HTTPHeaders(), body: Data(count: 42))) == 42)
    }
}

extension ConfigParseResult {
    fileprivate var problems: [ConfigProblem]? {
        if case .invalid(let problems, _) = self { return problems }
        return nil
    }
}
