import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct S3CredentialsTests {
    @Test func textualFormsHideSecretAndToken() {
        let credentials = S3Credentials(
            accessKeyId: "AKIDEXAMPLE", secretAccessKey: "SuperSecretValue", sessionToken: "TokenValue")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [
            credentials.description, credentials.debugDescription, "\(credentials)",
            String(reflecting: credentials), dumped,
        ] {
            #expect(!text.contains("SuperSecretValue"))
            #expect(!text.contains("TokenValue"))
            #expect(text.contains("AKIDEXAMPLE"))
        }
        #expect(S3Credentials(accessKeyId: "a", secretAccessKey: "b").description.contains("sessionToken: none"))
    }
}
