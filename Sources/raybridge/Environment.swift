import ArgumentParser

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Every flag of `raybridge run` can also come from the environment, as Kubernetes sets it.
enum Environment {
    static func value(_ names: String...) -> String? {
        let env = ProcessInfo.processInfo.environment
        for name in names {
            if let value = env[name], !value.isEmpty { return value }
        }
        return nil
    }

    /// The variable's value converted by `parse`; a value that does not convert is an error
    /// naming the variable and what it `must be`.
    static func parse<T>(_ name: String, as parse: (String) -> T?, _ mustBe: String) throws -> T? {
        guard let text = value(name) else { return nil }
        guard let parsed = parse(text) else { throw ValidationError("\(name) must be \(mustBe), found \"\(text)\"") }
        return parsed
    }

    static func flag(_ name: String) -> Bool {
        guard let value = value(name)?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(value)
    }
}
