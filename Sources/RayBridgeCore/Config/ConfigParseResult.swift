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
