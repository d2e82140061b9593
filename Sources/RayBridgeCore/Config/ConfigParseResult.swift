/// The outcome of reading a ConfigMap: a spec to act on, or every problem found.
public enum ConfigParseResult: Sendable, Equatable {
    case valid(JobSpec, warnings: [String])
    case invalid([ConfigProblem], warnings: [String])

    public var spec: JobSpec? {
        if case .valid(let spec, _) = self { return spec }
        return nil
    }

    public var warnings: [String] {
        switch self {
        case .valid(_, let w), .invalid(_, let w): w
        }
    }
}

/// One thing wrong with the mounted ConfigMap, named by its key so the user knows what to edit.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

/// A problem text before it is attached to a key.
public struct ConfigProblemText: Error, Sendable, Equatable {
    public var text: String
    public init(_ text: String) { self.text = text }
}

extension Array where Element == ConfigProblem {
    /// All problems in one line each, as written to `status.message`.
    public var summary: String {
        "invalid ConfigMap (\(count) problem\(count == 1 ? "" : "s")):\n" + map { "- \($0)" }.joined(separator: "\n")
    }
}
