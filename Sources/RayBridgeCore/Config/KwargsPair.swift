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
