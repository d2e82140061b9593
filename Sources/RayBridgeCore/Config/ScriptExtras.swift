#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The parsed `jobdata.scriptMetadata` and `jobdata.jobParameters`.
public struct ScriptExtras: Sendable, Equatable {
    /// runtime_env `pip`: requirement strings such as `requests==2.26.0`.
    public var pip: [String]
    /// runtime_env `env_vars`.
    public var env: [String: String]
    /// `key=value` words after `--kwargs`, sorted by key so the entrypoint is deterministic.
    public var parameters: [(key: String, value: String)]

    public init(pip: [String] = [], env: [String: String] = [:], parameters: [(key: String, value: String)] = []) {
        self.pip = pip
        self.env = env
        self.parameters = parameters
    }

    public static func == (a: ScriptExtras, b: ScriptExtras) -> Bool {
        a.pip == b.pip && a.env == b.env
            && a.parameters.map { "\($0.key)=\($0.value)" } == b.parameters.map { "\($0.key)=\($0.value)" }
    }

    /// Parses both texts, reporting every problem against the key it came from. `metadataKey` and
    /// `parametersKey` name where the text came from (the ConfigMap key, or the S3 object).
    public static func parse(
        metadata: String, metadataKey: String, parameters: String, parametersKey: String
    ) -> (extras: ScriptExtras, problems: [ConfigProblem]) {
        var problems: [ConfigProblem] = []
        var extras = ScriptExtras()

        do {
            let object = try JSONValue.parseObject(metadata)
            for (field, value) in object {
                switch (field, value) {
                case ("pip", .object(let packages)):
                    for (name, version) in packages.sorted(by: { $0.key < $1.key }) {
                        guard case .string(let v) = version else {
                            problems.append(.init(key: metadataKey, "pip version of \"\(name)\" must be a string, found \(version.kind)"))
                            continue
                        }
                        if v.contains("\0") || name.contains("\0") {
                            problems.append(.init(key: metadataKey, "pip package \(JSONValue.quoted(name)) contains a NUL character"))
                            continue
                        }
                        let trimmed = v.trimmingSpacesAndTabs()
                        // A bare name or a full specifier (">=1.2") is passed as is; a plain version gets "==".
                        if trimmed.isEmpty || trimmed == "*" {
                            extras.pip.append(name)
                        } else if let first = trimmed.first, "<>=!~".contains(first) {
                            extras.pip.append(name + trimmed)
                        } else {
                            extras.pip.append("\(name)==\(trimmed)")
                        }
                    }
                case ("pip", .array(let items)):
                    for item in items {
                        guard case .string(let requirement) = item else {
                            problems.append(.init(key: metadataKey, "pip entries must be strings, found \(item.kind)"))
                            continue
                        }
                        if requirement.contains("\0") {
                            problems.append(.init(key: metadataKey, "a pip entry contains a NUL character"))
                            continue
                        }
                        extras.pip.append(requirement)
                    }
                case ("pip", _):
                    problems.append(.init(key: metadataKey, "\"pip\" must be an object {\"name\": \"version\"}, found \(value.kind)"))
                case ("env", .object(let vars)):
                    for (name, v) in vars {
                        guard let text = v.pythonScalarText, v != .null else {
                            problems.append(.init(key: metadataKey, "env var \"\(name)\" must be a string, found \(v.kind)"))
                            continue
                        }
                        if name.isEmpty || name.contains("=") || name.contains("\0") {
                            problems.append(.init(key: metadataKey, "env var name \(JSONValue.quoted(name)) is not a valid variable name"))
                            continue
                        }
                        // The environment is a C array of strings: a NUL would cut the value short.
                        if text.contains("\0") {
                            problems.append(.init(key: metadataKey, "env var \"\(name)\" contains a NUL character"))
                            continue
                        }
                        if case .bool(let b) = v { extras.env[name] = b ? "true" : "false" } else { extras.env[name] = text }
                    }
                case ("env", _):
                    problems.append(.init(key: metadataKey, "\"env\" must be an object {\"VAR\": \"value\"}, found \(value.kind)"))
                default:
                    problems.append(.init(key: metadataKey, "unknown field \"\(field)\" (expected \"pip\" and \"env\")"))
                }
            }
        } catch {
            problems.append(.init(key: metadataKey, error.message))
        }

        do {
            let object = try JSONValue.parseObject(parameters)
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                if let problem = KwargsPair.problem(key: key, value: value) {
                    problems.append(.init(key: parametersKey, problem))
                } else if let text = value.pythonScalarText {
                    extras.parameters.append((key, text))
                }
            }
        } catch {
            problems.append(.init(key: parametersKey, error.message))
        }
        return (extras, problems)
    }
}
