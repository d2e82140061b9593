import Foundation
import Yams

/// The `data` of a ConfigMap YAML manifest, for `raybridge validate`.
public enum ConfigMapManifest {
    public static func data(fromYAML text: String) throws -> [String: String] {
        guard let document = try Yams.load(yaml: text) as? [String: Any] else {
            throw ConfigMapManifestError(message: "not a YAML mapping")
        }
        if let kind = document["kind"] as? String, kind != "ConfigMap" {
            throw ConfigMapManifestError(message: "kind is \(kind), expected ConfigMap")
        }
        guard let data = document["data"] as? [String: Any] else {
            throw ConfigMapManifestError(message: "no data: mapping")
        }
        var values: [String: String] = [:]
        for (key, value) in data {
            values[key] = value is NSNull ? "" : "\(value)"
        }
        return values
    }
}

public struct ConfigMapManifestError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "ConfigMap manifest: \(message)" }
}
