import CYAML

/// The `data` of a ConfigMap YAML manifest, for `raybridge validate`.
///
/// Read with libyaml, the parser Yams wraps, through its events: Yams links full Foundation (its
/// resolver uses NSRegularExpression), and with it ICU, for this one offline command. A value is
/// the scalar as written (quoted, block or plain); a plain `null`, `~` or nothing is "" (as a
/// missing value). Anchors, aliases and `<<` merge keys are followed.
public enum ConfigMapManifest {
    public static func data(fromYAML text: String) throws -> [String: String] {
        guard case .mapping(let document)? = try YAMLDocument.parse(text) else {
            throw ConfigMapManifestError(message: "not a YAML mapping")
        }
        if case .scalar(let kind, isNull: false)? = document.value(for: "kind"), kind != "ConfigMap" {
            throw ConfigMapManifestError(message: "kind is \(kind), expected ConfigMap")
        }
        guard case .mapping(let data)? = document.value(for: "data") else {
            throw ConfigMapManifestError(message: "no data: mapping")
        }
        var values: [String: String] = [:]
        for (key, value) in data.merged() {
            guard case .scalar(let text, let isNull) = value else {
                throw ConfigMapManifestError(message: "data.\(key) is a \(value.kind), not a string")
            }
            values[key] = isNull ? "" : text
        }
        return values
    }
}

public struct ConfigMapManifestError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "ConfigMap manifest: \(message)" }
}

/// A YAML node as the manifest needs it: keys are compared as text.
indirect enum YAMLNode: CustomStringConvertible {
    case scalar(String, isNull: Bool)
    case sequence([YAMLNode])
    case mapping(YAMLMapping)

    var kind: String {
        switch self {
        case .scalar: "string"
        case .sequence: "sequence"
        case .mapping: "mapping"
        }
    }

    var description: String {
        if case .scalar(let text, _) = self { return text }
        return "a \(kind)"
    }
}

struct YAMLMapping {
    var entries: [(key: YAMLNode, value: YAMLNode)] = []

    /// Later keys win, as Yams had it; `<<` entries fill in only keys not given (YAML's merge key).
    func merged() -> [String: YAMLNode] {
        var result: [String: YAMLNode] = [:]
        var inherited: [String: YAMLNode] = [:]
        for (key, value) in entries {
            guard case .scalar(let name, _) = key else { continue }
            if name == "<<" {
                let sources: [YAMLNode] = if case .sequence(let items) = value { items } else { [value] }
                for case .mapping(let source) in sources {
                    for (inheritedKey, inheritedValue) in source.merged() where inherited[inheritedKey] == nil {
                        inherited[inheritedKey] = inheritedValue
                    }
                }
            } else {
                result[name] = value
            }
        }
        return result.merging(inherited) { own, _ in own }
    }

    func value(for key: String) -> YAMLNode? { merged()[key] }
}

/// libyaml's events folded into one document's tree, without recursion (a deep manifest cannot
/// exhaust the stack). Aliases share their anchor's node.
enum YAMLDocument {
    static func parse(_ text: String) throws(ConfigMapManifestError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw ConfigMapManifestError(message: "libyaml could not start") }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(ConfigMapManifestError) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            return try fold(&parser)
        }
    }

    private enum Open {
        case sequence([YAMLNode], anchor: String?)
        case mapping(YAMLMapping, pendingKey: YAMLNode?, anchor: String?)
    }

    private static func fold(_ parser: inout yaml_parser_t) throws(ConfigMapManifestError) -> YAMLNode? {
        var anchors: [String: YAMLNode] = [:]
        var open: [Open] = []
        var root: YAMLNode?
        var documents = 0
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { throw problem(parser) }
            defer { yaml_event_delete(&event) }
            var finished: YAMLNode?
            var anchor: String?
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                // As Yams.load did: one document, or it is unclear which one is meant.
                guard documents == 1 else { throw ConfigMapManifestError(message: "more than one YAML document") }
                continue
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let text = string(scalar.value, scalar.length)
                let tag = scalar.tag.map { String(cString: $0) }
                let isNull =
                    tag == "tag:yaml.org,2002:null"
                    || (tag == nil && scalar.style == YAML_PLAIN_SCALAR_STYLE && ["", "~", "null", "Null", "NULL"].contains(text))
                finished = .scalar(text, isNull: isNull)
                anchor = scalar.anchor.map { String(cString: $0) }
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.data.alias.anchor)
                guard let node = anchors[name] else {
                    throw ConfigMapManifestError(message: "line \(event.start_mark.line + 1): unknown alias *\(name)")
                }
                finished = node
            case YAML_SEQUENCE_START_EVENT:
                open.append(.sequence([], anchor: event.data.sequence_start.anchor.map { String(cString: $0) }))
                continue
            case YAML_MAPPING_START_EVENT:
                open.append(.mapping(YAMLMapping(), pendingKey: nil, anchor: event.data.mapping_start.anchor.map { String(cString: $0) }))
                continue
            case YAML_SEQUENCE_END_EVENT:
                guard case .sequence(let items, let name)? = open.popLast() else { throw unbalanced() }
                finished = .sequence(items)
                anchor = name
            case YAML_MAPPING_END_EVENT:
                guard case .mapping(let mapping, nil, let name)? = open.popLast() else { throw unbalanced() }
                finished = .mapping(mapping)
                anchor = name
            default:
                continue
            }
            guard let node = finished else { continue }
            if let anchor { anchors[anchor] = node }
            switch open.popLast() {
            case nil:
                root = node
            case .sequence(var items, let name):
                items.append(node)
                open.append(.sequence(items, anchor: name))
            case .mapping(var mapping, let key?, let name):
                mapping.entries.append((key, node))
                open.append(.mapping(mapping, pendingKey: nil, anchor: name))
            case .mapping(let mapping, nil, let name):
                open.append(.mapping(mapping, pendingKey: node, anchor: name))
            }
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?, _ length: Int) -> String {
        guard let pointer else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private static func problem(_ parser: yaml_parser_t) -> ConfigMapManifestError {
        let what = parser.problem.map { String(cString: $0) } ?? "not YAML"
        let context = parser.context.map { String(cString: $0) + " " } ?? ""
        let mark = parser.problem_mark
        return ConfigMapManifestError(message: "line \(mark.line + 1), column \(mark.column + 1): \(context)\(what)")
    }

    private static func unbalanced() -> ConfigMapManifestError {
        ConfigMapManifestError(message: "libyaml's events did not nest")
    }
}
