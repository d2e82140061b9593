import Foundation

/// POSIX shell quoting. Ray runs the entrypoint through a shell, so every word built from
/// ConfigMap values is single-quoted: inside single quotes nothing is special but `'` itself,
/// which is written as `'"'"'`.
public enum ShellQuote {
    public static func quote(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: #"'"'"'"#) + "'"
    }
}
