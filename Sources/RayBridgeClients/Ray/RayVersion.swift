import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
        let trimmed = text.trimmingSpacesAndTabs()
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

/// What differs between the Ray releases raybridge supports (checked in the wheels of 2.9.3 to
/// 2.60.0; the README has the table).
extension RayVersion {
    /// The oldest release raybridge is tested against. Older clusters are used all the same, with a
    /// warning in the log.
    public static let oldestSupported = RayVersion(2, 9, 0)

    /// Submit fields (`JobSubmitRequest`) that not every supported release knows, with the first
    /// release that does. Ray answers an unknown field with HTTP 400, so a ConfigMap asking for one
    /// of these on an older cluster is refused before anything is sent.
    public static let submitFieldsSince: [(field: String, since: RayVersion)] = [
        ("entrypoint_label_selector", RayVersion(2, 54, 0))
    ]

    /// Token authentication (`RAY_AUTH_MODE=token`) exists from this release on.
    public static let tokenAuthSince = RayVersion(2, 52, 0)

    /// How the state API's log endpoints (`/api/v0/logs/file` and `/api/v0/logs/stream`) frame
    /// their body on this release.
    public var logFraming: RayLogFraming {
        if self >= RayLogFraming.rawSince { return .raw }
        return self >= RayLogFraming.textFormatSince ? .markedOrText : .marked
    }
}

extension JobSpec {
    /// What this spec asks for that a cluster running `version` does not have, each naming the key
    /// to edit. Such a spec is treated as invalid: nothing is sent, a running job is left alone.
    /// An unknown version is taken for the newest (the answer of `/api/version` lacked it).
    public func unsupported(by version: RayVersion?) -> [ConfigProblem] {
        guard let version else { return [] }
        return RayVersion.submitFieldsSince.compactMap { field, since in
            guard jobProperties[field] != nil, version < since else { return nil }
            return ConfigProblem(
                key: ConfigKey.jobProperties,
                "\(field) needs Ray \(since) or later, but the cluster at \(rayURL.absoluteString) runs Ray \(version); remove it or upgrade the cluster"
            )
        }
    }
}
