import Foundation

/// `2026-11-22T20:51:37Z`: UTC, second precision, unambiguous (the ray pod wrote dd/mm/YYYY).
public enum RFC3339 {
    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }

    public static func format(unixMilliseconds ms: Int64) -> String {
        format(Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
