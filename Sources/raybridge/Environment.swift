import Foundation

/// Every flag of `raybridge run` can also come from the environment, as Kubernetes sets it.
enum Environment {
    static func value(_ names: String...) -> String? {
        let env = ProcessInfo.processInfo.environment
        for name in names {
            if let value = env[name], !value.isEmpty { return value }
        }
        return nil
    }

    static func flag(_ name: String) -> Bool {
        guard let value = value(name)?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(value)
    }
}
