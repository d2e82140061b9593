#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns the keys of the mounted ConfigMap into a `JobSpec`, collecting every problem at once
/// so one edit can fix them all.
public struct ConfigMapParser: Sendable {
    public var jobName: String

    public init(jobName: String) {
        self.jobName = jobName
    }

    public static let defaultUpdateInterval = 20
    public static let allowedJobProperties: Set<String> = [
        "entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_memory", "entrypoint_resources",
        "entrypoint_label_selector", "metadata", "runtime_env",
    ]

    /// - Parameter invalidBytes: keys whose file bytes were not clean UTF-8 text, and why
    ///   (`DirectorySnapshot.invalidBytes`); each is a problem, as the value in `values` is mangled.
    public func parse(_ values: [String: String], invalidBytes: [String: String] = [:]) -> ConfigParseResult {
        var problems: [ConfigProblem] = []
        var warnings: [String] = []
        func text(_ key: String) -> String { (values[key] ?? "").trimmingWhitespace() }
        func fail(_ key: String, _ message: String) { problems.append(ConfigProblem(key: key, message)) }

        for key in values.keys.sorted() where !ConfigKey.known.contains(key) && !ConfigKey.isIgnored(key) && !ConfigKey.isFile(key) {
            warnings.append("unknown key \"\(key)\" is ignored")
        }
        checkBytes(values, invalidBytes: invalidBytes, fail: fail, warn: { warnings.append($0) })
        let badBytes = problems.count

        let rayURL = parseRayURL(text(ConfigKey.resourceURL), fail: { fail(ConfigKey.resourceURL, $0) })
        let attachId = text(ConfigKey.id).isEmpty ? nil : text(ConfigKey.id)
        let kill = parseBool(ConfigKey.kill, text(ConfigKey.kill), default: false, fail: fail)

        let interval =
            wholeNumber(ConfigKey.updateInterval, of: "seconds", in: 1...86_400, text: text, fail: fail) ?? Self.defaultUpdateInterval

        let lifecycle = parseLifecycle(text: text, fail: fail)
        let s3 = parseS3(values, text: text, fail: fail)

        // Script.
        var script: ScriptSource = .inline("")
        let location = text(ConfigKey.scriptLocation).lowercased()
        let rawScript = values[ConfigKey.jobScript] ?? ""
        let scriptNeeded = attachId == nil
        switch location {
        case "", "inline":
            if rawScript.allSatisfy(\.isWhitespace) {
                if scriptNeeded { fail(ConfigKey.jobScript, "is required (the Python script to run) unless id is set") }
            } else {
                script = .inline(rawScript)
            }
        case "s3":
            if rawScript.allSatisfy(\.isWhitespace) {
                if scriptNeeded { fail(ConfigKey.jobScript, "is required: bucket:key of the script in S3") }
            } else {
                switch S3ObjectRef.parse(rawScript) {
                case .success(let ref): script = ref.key.lowercased().hasSuffix(".zip") ? .s3Zip(ref) : .s3(ref)
                case .failure(let p): fail(ConfigKey.jobScript, "with scriptLocation s3 \(p.text)")
                }
            }
            if s3 == nil && scriptNeeded { fail(ConfigKey.scriptLocation, "is s3 but s3.endpoint is not set") }
        case "cluster":
            let path = text(ConfigKey.jobScript)
            if path.isEmpty {
                if scriptNeeded { fail(ConfigKey.jobScript, "is required: the script's path on the Ray cluster") }
            } else if path.contains(where: \.isNewline) {
                fail(ConfigKey.jobScript, "with scriptLocation cluster must be a single path, found several lines")
            } else {
                script = .cluster(path)
            }
        default:
            fail(ConfigKey.scriptLocation, "must be inline, s3 or cluster, found \"\(location.prefix(40))\"")
        }

        let files = JobFiles.parse(values, script: script, fail: fail)

        // Metadata and parameters.
        var extras: ExtrasSource = .inline(ScriptExtras())
        switch text(ConfigKey.scriptExtraLocation).lowercased() {
        case "", "inline":
            let parsed = ScriptExtras.parse(
                metadata: values[ConfigKey.scriptMetadata] ?? "", metadataKey: ConfigKey.scriptMetadata,
                parameters: values[ConfigKey.jobParameters] ?? "", parametersKey: ConfigKey.jobParameters)
            extras = .inline(parsed.extras)
            problems += parsed.problems
            if parsed.problems.isEmpty {
                checkEntrypointSize(script: script, s3: s3, parameters: parsed.extras.parameters, fail: fail)
            }
        case "s3":
            var refs: [String: S3ObjectRef] = [:]
            for key in [ConfigKey.scriptMetadata, ConfigKey.jobParameters] where !text(key).isEmpty {
                switch S3ObjectRef.parse(text(key)) {
                case .success(let ref): refs[key] = ref
                case .failure(let p): fail(key, "with scriptExtraLocation s3 \(p.text)")
                }
            }
            extras = .s3(metadata: refs[ConfigKey.scriptMetadata], parameters: refs[ConfigKey.jobParameters])
            if s3 == nil && !refs.isEmpty { fail(ConfigKey.scriptExtraLocation, "is s3 but s3.endpoint is not set") }
        case let other:
            fail(ConfigKey.scriptExtraLocation, "must be inline or s3, found \"\(other.prefix(40))\"")
        }

        let properties = parseJobProperties(values[ConfigKey.jobProperties] ?? "", fail: { fail(ConfigKey.jobProperties, $0) })

        // A key whose bytes were refused fails every other check too (U+FFFD is no URL, a NUL no
        // JSON): one problem per such key says what to fix.
        let refused = Set(problems[..<badBytes].map(\.key))
        problems = Array(problems[..<badBytes]) + problems[badBytes...].filter { !refused.contains($0.key) }
        guard problems.isEmpty, let rayURL else {
            return .invalid(problems, warnings: warnings)
        }
        var spec = JobSpec(
            rayURL: rayURL, attachId: attachId, kill: kill, updateInterval: .seconds(interval), script: script,
            extras: extras, jobProperties: properties, s3: s3, revision: Revision(values: values))
        spec.backoffLimit = lifecycle.backoffLimit
        spec.activeDeadline = lifecycle.deadline.map { .seconds($0) }
        spec.preRunningDeadline = lifecycle.preRunningDeadline.map { .seconds($0) }
        spec.keepFinishedRuns = lifecycle.keepFinishedRuns
        spec.files = files
        return .valid(spec, warnings: warnings)
    }

    private func parseRayURL(_ text: String, fail: (String) -> Void) -> URL? {
        if text.isEmpty {
            fail("is required: the Ray dashboard URL, e.g. http://ray-head.ray.svc.cluster.local:8265")
            return nil
        }
        switch HTTPURLParts.parse(text, allowPath: true, credentialsHint: "put the Ray token in the credentials Secret") {
        case .success(let parts): return parts.url
        case .failure(let problem):
            fail(problem.text)
            return nil
        }
    }

    private func parseBool(_ key: String, _ text: String, default value: Bool, fail: (String, String) -> Void) -> Bool {
        switch text.lowercased() {
        case "": return value
        case "true": return true
        case "false": return false
        default:
            fail(key, "must be \"true\" or \"false\", found \"\(text.prefix(40))\"")
            return value
        }
    }

    /// One of an enum's values, named exactly; empty: the default.
    private func choice<Value: RawRepresentable & CaseIterable>(
        _ key: String, _ text: String, default value: Value, fail: (String, String) -> Void
    ) -> Value where Value.RawValue == String {
        guard !text.isEmpty else { return value }
        if let chosen = Value(rawValue: text) { return chosen }
        fail(key, "must be one of \(Value.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), found \"\(text.prefix(40))\"")
        return value
    }

    private func parseS3(_ values: [String: String], text: (String) -> String, fail: (String, String) -> Void) -> S3Settings? {
        let endpoint = text(ConfigKey.s3Endpoint)
        guard !endpoint.isEmpty else {
            for key in [ConfigKey.s3Bucket, ConfigKey.s3Prefix, ConfigKey.s3AddressingStyle, ConfigKey.s3Compression] where !text(key).isEmpty {
                fail(key, "is set but s3.endpoint is not, so S3 is off; set s3.endpoint or remove \(key)")
            }
            return nil
        }
        let secure = parseBool(ConfigKey.s3Secure, text(ConfigKey.s3Secure), default: true, fail: fail)
        var url: URL?
        let withScheme = endpoint.contains("://") ? endpoint : "\(secure ? "https" : "http")://\(endpoint)"
        switch HTTPURLParts.parse(withScheme, written: endpoint, allowPath: false, credentialsHint: "S3 credentials come from the credentials Secret")
        {
        case .success(let parts): url = parts.url
        case .failure(let problem): fail(ConfigKey.s3Endpoint, "must be host[:port] or an http(s) URL without a path; it \(problem.text)")
        }

        let region = text(ConfigKey.s3Region).isEmpty ? "us-east-1" : text(ConfigKey.s3Region)
        if !region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
            fail(ConfigKey.s3Region, "must look like us-east-1, found \"\(region.prefix(40))\"")
        }
        let bucket = text(ConfigKey.s3Bucket)
        if bucket.isEmpty {
            fail(ConfigKey.s3Bucket, "is required when s3.endpoint is set: the bucket for the job's log")
        } else if let problem = S3BucketName.problem(bucket) {
            fail(ConfigKey.s3Bucket, "bucket \"\(bucket.prefix(80))\" \(problem)")
        }
        var prefix = text(ConfigKey.s3Prefix).isEmpty ? "\(jobName)/" : text(ConfigKey.s3Prefix)
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        let secret = text(ConfigKey.s3Secret)
        for (key, name, value) in [(ConfigKey.s3Secret, "s3_secret", secret), (ConfigKey.s3Prefix, "s3_prefix", prefix)] {
            if let problem = KwargsPair.problem(key: name, text: value) { fail(key, problem) }
        }
        let style = choice(ConfigKey.s3AddressingStyle, text(ConfigKey.s3AddressingStyle), default: S3AddressingStyle.auto, fail: fail)
        let compression = choice(ConfigKey.s3Compression, text(ConfigKey.s3Compression), default: LogCompression.none, fail: fail)
        guard let url else { return nil }
        return S3Settings(
            endpoint: url, secure: url.scheme == "https", region: region, bucket: bucket, prefix: prefix, secretName: secret,
            addressingStyle: style, compression: compression)
    }

    private func parseJobProperties(_ raw: String, fail: (String) -> Void) -> [String: JSONValue] {
        let object: [String: JSONValue]
        do {
            object = try JSONValue.parseObject(raw)
        } catch {
            fail(error.message)
            return [:]
        }
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard Self.allowedJobProperties.contains(key) else {
                fail("unknown submit option \"\(key)\" (allowed: \(Self.allowedJobProperties.sorted().joined(separator: ", ")))")
                continue
            }
            switch (key, value) {
            case ("entrypoint_num_cpus", .number), ("entrypoint_num_gpus", .number):
                if let n = Double(value.pythonScalarText ?? ""), n < 0 { fail("\(key) must not be negative") }
            case ("entrypoint_memory", .number(let n)):
                if Int64(n) == nil || Int64(n)! < 0 { fail("entrypoint_memory must be a whole number of bytes, found \(n)") }
            case ("entrypoint_resources", .object(let resources)):
                for (name, amount) in resources {
                    guard case .number = amount else { fail("entrypoint_resources[\"\(name)\"] must be a number, found \(amount.kind)"); continue }
                }
            case ("entrypoint_label_selector", .object(let labels)), ("metadata", .object(let labels)):
                for (name, v) in labels {
                    guard case .string = v else { fail("\(key)[\"\(name)\"] must be a string, found \(v.kind)"); continue }
                    if key == "metadata" && name.hasPrefix("raybridge.") { fail("metadata key \"\(name)\" is reserved for raybridge") }
                }
            case ("runtime_env", .object(let env)):
                if env["working_dir"] != nil { fail("runtime_env.working_dir is set by raybridge (the script's package); remove it") }
                if let vars = env["env_vars"] {
                    guard case .object(let o) = vars, o.values.allSatisfy({ if case .string = $0 { true } else { false } }) else {
                        fail("runtime_env.env_vars must be an object of strings"); continue
                    }
                }
            default:
                fail("\(key) has the wrong type: \(value.kind)")
            }
        }
        return object
    }
}

/// Checks that span keys: the bytes of every value and the size of the resulting entrypoint.
extension ConfigMapParser {
    /// Parses a directory snapshot, including what its bytes revealed before they became text.
    /// The sidecar and `raybridge validate` both read through this, so they agree on every input.
    public func parse(_ snapshot: DirectorySnapshot) -> ConfigParseResult {
        parse(snapshot.values, invalidBytes: snapshot.invalidBytes)
    }

    /// A NUL or invalid UTF-8 in a value is refused, not passed on mangled. Ignored keys have no
    /// effect whatever they hold, so they only get a warning.
    func checkBytes(
        _ values: [String: String], invalidBytes: [String: String], fail: (String, String) -> Void, warn: (String) -> Void
    ) {
        for key in Set(values.keys).union(invalidBytes.keys).sorted() {
            guard let problem = invalidBytes[key] ?? values[key].flatMap({ ConfigValueBytes.problem($0) }) else { continue }
            if ConfigKey.isIgnored(key) {
                warn("ignored key \"\(key)\" \(problem)")
            } else if ConfigKey.isFile(key) {
                fail(key, problem + "; a binary file belongs in a .zip working directory in S3")
            } else {
                fail(key, problem)
            }
        }
    }

    /// Inline parameters are known now, so an entrypoint the cluster could not exec is refused
    /// before anything is stopped or submitted.
    func checkEntrypointSize(script: ScriptSource, s3: S3Settings?, parameters: [(key: String, value: String)], fail: (String, String) -> Void) {
        let word: String
        if case .cluster(let path) = script { word = path } else { word = Entrypoint.packagedScriptName }
        guard let problem = EntrypointLimit.problem(script: word, s3: s3, parameters: parameters) else { return }
        fail(parameters.isEmpty ? ConfigKey.jobScript : ConfigKey.jobParameters, problem)
    }

    /// The most retries a revision can ask for: the journal keeps the last `Journal.maxRuns` runs,
    /// and every attempt must stay in it to be counted.
    public static let maxBackoffLimit = 50
    /// A year: a longer deadline is a typo, not a wish.
    public static let maxActiveDeadlineSeconds = 31_536_000

    /// `keepFinishedRuns` when not given: enough history to look back on, small enough that the
    /// head's job table (and each job-status GET) stays cheap.
    public static let defaultKeepFinishedRuns = 20

    /// The lifecycle keys: all optional, none part of the revision.
    struct Lifecycle {
        var backoffLimit = 0
        var deadline: Int?
        var preRunningDeadline: Int?
        /// nil: `all`.
        var keepFinishedRuns: Int? = ConfigMapParser.defaultKeepFinishedRuns
    }

    func parseLifecycle(text: (String) -> String, fail: (String, String) -> Void) -> Lifecycle {
        var lifecycle = Lifecycle()
        let (limit, deadline) = parseRetries(text: text, fail: fail)
        lifecycle.backoffLimit = limit
        lifecycle.deadline = deadline
        lifecycle.preRunningDeadline = wholeNumber(
            ConfigKey.preRunningDeadlineSeconds, of: "seconds", in: 1...Self.maxActiveDeadlineSeconds, text: text, fail: fail)
        let keepText = text(ConfigKey.keepFinishedRuns)
        if !keepText.isEmpty {
            if keepText.lowercased() == "all" {
                lifecycle.keepFinishedRuns = nil
            } else if let n = Int(keepText), n >= 1 {
                lifecycle.keepFinishedRuns = n
            } else {
                fail(ConfigKey.keepFinishedRuns, "must be a whole number of runs from 1, or \"all\", found \"\(keepText.prefix(40))\"")
            }
        }
        return lifecycle
    }

    /// `backoffLimit` and `activeDeadlineSeconds`, both optional whole numbers.
    private func parseRetries(text: (String) -> String, fail: (String, String) -> Void) -> (backoffLimit: Int, deadline: Int?) {
        let limit = wholeNumber(ConfigKey.backoffLimit, of: "retries", in: 0...Self.maxBackoffLimit, text: text, fail: fail) ?? 0
        let deadline = wholeNumber(
            ConfigKey.activeDeadlineSeconds, of: "seconds", in: 1...Self.maxActiveDeadlineSeconds, text: text, fail: fail)
        return (limit, deadline)
    }

    /// The whole number under `key` within `range`; nil when the key is absent or empty, or when
    /// its value is not such a number (then `fail` says so, naming the key, the unit and the range).
    private func wholeNumber(
        _ key: String, of unit: String, in range: ClosedRange<Int>, text: (String) -> String, fail: (String, String) -> Void
    ) -> Int? {
        let value = text(key)
        guard !value.isEmpty else { return nil }
        if let n = Int(value), range.contains(n) { return n }
        fail(key, "must be a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound), found \"\(value.prefix(40))\"")
        return nil
    }
}
