#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The command Ray runs: `exec python <script> --kwargs 'k=v' ...`, every word shell-quoted.
///
/// `exec`: Ray runs the entrypoint with `/bin/sh -c`, and Debian's dash keeps the shell as the
/// driver's parent. A stop then SIGTERMs both; the orphaned driver is reaped late, and Ray waits
/// for it: 1.1 to 1.9 s from the stop to STOPPED on Ray 2.60. With the shell replaced by the driver
/// it is 0.12 s. The app's `sys.argv` is the same.
public enum Entrypoint {
    /// The name of an inline or S3 script inside the working-dir package Ray unpacks.
    public static let packagedScriptName = "script.py"

    /// `s3` adds the ray pod's fixed pairs first, in its order; `parameters` follow.
    public static func build(script: String, s3: S3Settings?, parameters: [(key: String, value: String)]) -> String {
        var pairs: [String] = []
        if let s3 {
            pairs.append("s3_secret=\(s3.secretName)")
            pairs.append("s3_bucket=\(s3.bucket)")
            pairs.append("s3_prefix=\(s3.prefix)")
            pairs.append("s3_secure=\(s3.secure ? "True" : "False")")
        }
        pairs += parameters.map { "\($0.key)=\($0.value)" }
        var words = ["exec", "python", script == "script.py" ? script : ShellQuote.quote(script)]
        if !pairs.isEmpty {
            words.append("--kwargs")
            words += pairs.map(ShellQuote.quote)
        }
        return words.joined(separator: " ")
    }
}

/// POSIX shell quoting. Ray runs the entrypoint through a shell, so every word built from
/// ConfigMap values is single-quoted: inside single quotes nothing is special but `'` itself,
/// which is written as `'"'"'`.
public enum ShellQuote {
    public static func quote(_ word: String) -> String {
        "'" + word.replacing("'", with: #"'"'"'"#) + "'"
    }
}

/// The ray pod's apps split every `--kwargs` word with `key, value = word.split('=')`, so a pair
/// survives the trip only if neither side contains `=` and the key is not empty.
public enum KwargsPair {
    public static func problem(key: String, value: JSONValue) -> String? {
        if key.isEmpty { return "a parameter has an empty name" }
        // The pair is one argv word: C cuts it at a NUL, and the app would get another name.
        if key.contains("\0") { return "parameter name \(JSONValue.quoted(key)) contains a NUL character" }
        if key.contains("=") { return "parameter name \"\(key)\" contains '=', which the app's key=value split cannot handle" }
        guard let text = value.pythonScalarText else {
            return "parameter \"\(key)\" is \(value.kind); only strings, numbers, booleans and null can be passed as key=value"
        }
        if text.contains("=") { return "the value of parameter \"\(key)\" contains '=', which the app's key=value split cannot handle" }
        if text.contains("\0") { return "the value of parameter \"\(key)\" contains a NUL character" }
        return nil
    }

    /// Same rules for plain text pairs (the s3_* pairs built from other keys).
    public static func problem(key: String, text: String) -> String? {
        problem(key: key, value: .string(text))
    }
}

/// How long an entrypoint may be before the cluster cannot start it.
///
/// Linux refuses to exec any single argument longer than MAX_ARG_STRLEN (32 pages, 131072 bytes
/// with its terminating NUL), and Ray runs the entrypoint through `/bin/sh -c <entrypoint>`: the
/// whole command line is that one argument. A longer one would be accepted by Ray and then fail
/// with E2BIG on the cluster, long after the edit; it is refused while the key can be named.
public enum EntrypointLimit {
    public static let maximumBytes = 131_071

    /// A message naming the size, or nil when the entrypoint fits.
    public static func problem(script: String, s3: S3Settings?, parameters: [(key: String, value: String)]) -> String? {
        for (key, value) in parameters {
            let size = key.utf8.count + 1 + value.utf8.count
            if size > maximumBytes {
                return "parameter \"\(key.prefix(60))\" is \(size) bytes as key=value, more than the \(maximumBytes) bytes "
                    + "Linux allows in one argument (MAX_ARG_STRLEN); pass large data through S3 instead"
            }
        }
        let size = Entrypoint.build(script: script, s3: s3, parameters: parameters).utf8.count
        if size > maximumBytes {
            return "the entrypoint would be \(size) bytes; Ray runs it as the one argument of /bin/sh -c, which Linux "
                + "limits to \(maximumBytes) bytes (MAX_ARG_STRLEN); pass large data through S3 instead"
        }
        return nil
    }
}
