import Foundation
import RayBridgeCore

/// A Ray release as `/api/version` names it (`2.9.3`, `2.47.1`, `3.0.0.dev0`): what the cluster
/// understands depends on it, so it is read once per connection and compared, never guessed.
public struct RayVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// As Ray wrote it, suffixes (`rc1`, `.dev0`) included: this is what logs and status show.
    public var text: String

    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.text = "\(major).\(minor).\(patch)"
    }

    /// Reads `MAJOR.MINOR[.PATCH][suffix]`; nil for anything else. A pre-release compares as its
    /// release: a `2.54.0rc1` cluster already has what 2.54.0 has for the fields raybridge sends.
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var numbers: [Int] = []
        var digits = ""
        for character in trimmed {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else if character == ".", !digits.isEmpty, numbers.count < 2 {
                numbers.append(Int(digits)!)
                digits = ""
            } else {
                break
            }
        }
        if !digits.isEmpty, digits.count < 9 { numbers.append(Int(digits)!) }
        guard numbers.count >= 2 else { return nil }
        self.major = numbers[0]
        self.minor = numbers[1]
        self.patch = numbers.count > 2 ? numbers[2] : 0
        self.text = trimmed
    }

    public var description: String { text }

    public static func < (lhs: RayVersion, rhs: RayVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    public static func == (lhs: RayVersion, rhs: RayVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) == (rhs.major, rhs.minor, rhs.patch)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
    }
}
