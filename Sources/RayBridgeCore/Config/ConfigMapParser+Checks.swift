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

    /// `backoffLimit` and `activeDeadlineSeconds`, both optional whole numbers.
    func parseLifecycle(text: (String) -> String, fail: (String, String) -> Void) -> (backoffLimit: Int, deadline: Int?) {
        var limit = 0
        let limitText = text(ConfigKey.backoffLimit)
        if !limitText.isEmpty {
            if let n = Int(limitText), (0...Self.maxBackoffLimit).contains(n) {
                limit = n
            } else {
                fail(
                    ConfigKey.backoffLimit,
                    "must be a whole number of retries from 0 to \(Self.maxBackoffLimit), found \"\(limitText.prefix(40))\"")
            }
        }
        var deadline: Int?
        let deadlineText = text(ConfigKey.activeDeadlineSeconds)
        if !deadlineText.isEmpty {
            if let n = Int(deadlineText), (1...Self.maxActiveDeadlineSeconds).contains(n) {
                deadline = n
            } else {
                fail(
                    ConfigKey.activeDeadlineSeconds,
                    "must be a whole number of seconds from 1 to \(Self.maxActiveDeadlineSeconds), found \"\(deadlineText.prefix(40))\"")
            }
        }
        return (limit, deadline)
    }
}
