/// An extra file of the job (`jobdata.file.<name>`), shipped beside `script.py` at the root of
/// the job's working directory.
public struct JobFile: Sendable, Equatable {
    public var name: String
    /// The value exactly as the ConfigMap holds it: not trimmed, as a file's bytes matter.
    public var content: String

    public init(name: String, content: String) {
        self.name = name
        self.content = content
    }

    public var key: String { JobFiles.keyPrefix + name }
}

/// The rules of the job's working directory: which names a file may have, what it can be
/// combined with, and how large the whole may be.
public enum JobFiles {
    public static let keyPrefix = "jobdata.file."

    public static func isFileKey(_ key: String) -> Bool { key.hasPrefix(keyPrefix) }

    /// The largest working_dir package Ray takes: its dashboard reads `PUT /api/packages/...`
    /// with aiohttp's `client_max_size` of 100 MiB, and the aiohttp of older releases refuses a
    /// body of exactly that size (`>=`), newer ones only a larger one.
    public static let maxPackageBytes = 100 * 1024 * 1024 - 1

    /// Linux's longest file name.
    static let maxNameBytes = 255

    /// nil when `name` can be a file at the working directory's root. Kubernetes allows the same
    /// characters in a ConfigMap key, so every key Kubernetes takes passes but for the reserved names.
    static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "names no file: put the file name after \"\(keyPrefix)\"" }
        if name == "." || name == ".." { return "\"\(name)\" is not a file name" }
        if name == Entrypoint.packagedScriptName {
            return "script.py is the job's script, given by jobdata.jobScript; choose another name"
        }
        let allowed = name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "-")
        }
        if !allowed {
            return "file name \"\(name.prefix(80))\" may only contain letters, digits, '.', '_' and '-' "
                + "(a plain name: files go to the working directory's root; put directories into a .zip working directory in S3)"
        }
        if name.utf8.count > maxNameBytes { return "file name is longer than \(maxNameBytes) bytes" }
        return nil
    }

    /// The `jobdata.file.*` keys of `values`, sorted by name, and every problem with them.
    /// `script` decides whether there is a working directory to put them into; an inline script
    /// counts towards the size.
    static func parse(_ values: [String: String], script: ScriptSource, fail: (String, String) -> Void) -> [JobFile] {
        var files: [JobFile] = []
        for key in values.keys.sorted() where isFileKey(key) {
            let name = String(key.dropFirst(keyPrefix.count))
            if let problem = nameProblem(name) {
                fail(key, problem)
            } else {
                files.append(JobFile(name: name, content: values[key] ?? ""))
            }
        }
        guard !files.isEmpty else { return [] }
        switch script {
        case .cluster:
            for file in files {
                fail(
                    file.key,
                    "is a file of the job's working directory, but with jobdata.scriptLocation cluster no working directory is sent; "
                        + "put the file on the cluster beside the script, or ship the script inline or from S3")
            }
            return []
        case .s3Zip(let ref):
            // The zip is copied to Ray as it is, never unpacked or held in memory here: adding a
            // file would mean rewriting an archive of up to 100 MiB.
            for file in files {
                fail(file.key, "cannot be added to the working directory \(ref), which is shipped as it is; put \(file.name) into the zip")
            }
            return []
        case .inline, .s3:
            break
        }
        // The files' bytes and their zip headers (a local and a central one, each with the name).
        // A ConfigMap (1 MiB at most) never comes near; a manifest given to `raybridge validate`
        // might. The package is measured again once it is built.
        var total = files.reduce(0) { $0 + $1.content.utf8.count + 100 + 2 * $1.name.utf8.count }
        if case .inline(let text) = script { total += text.utf8.count + 100 + 2 * Entrypoint.packagedScriptName.utf8.count }
        if total > maxPackageBytes, let largest = files.max(by: { $0.content.utf8.count < $1.content.utf8.count }) {
            fail(
                largest.key,
                "the job's files come to \(total) bytes with the zip's headers (\(largest.name): \(largest.content.utf8.count)), "
                    + "more than the \(maxPackageBytes) bytes Ray accepts for a working directory")
        }
        return files
    }
}
