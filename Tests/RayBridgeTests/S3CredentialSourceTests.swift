import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Which source the environment names, in the AWS SDKs' order, and what each needs.
@Suite struct S3CredentialSourceTests {
    @Test func keyVariablesComeFirstThenWebIdentityThenTheContainerEndpoint() {
        let all = [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r", "AWS_ROLE_SESSION_NAME": "me",
            "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9000", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9999/creds",
        ]
        let fromEnvironment = S3Credentials(accessKeyId: "AKIDENV", secretAccessKey: "envsecret", sessionToken: "envtoken")
        #expect(S3CredentialSource.detect(all) == .environment(fromEnvironment))
        var env = all
        env["AWS_ACCESS_KEY_ID"] = nil
        #expect(
            S3CredentialSource.detect(env)
                == .webIdentity(
                    WebIdentityCredentials(
                        tokenFile: "/var/run/token", roleArn: "arn:aws:iam::1:role/r", sessionName: "me",
                        stsEndpoint: URL(string: "http://127.0.0.1:9000")!)))
        env["AWS_ROLE_ARN"] = nil
        #expect(
            S3CredentialSource.detect(env)
                == .containerEndpoint(ContainerCredentials(url: URL(string: "http://127.0.0.1:9999/creds")!, tokenFile: nil, token: nil)))
        #expect(S3CredentialSource.detect([:]) == nil)
        #expect(S3CredentialSource.detect(["AWS_ACCESS_KEY_ID": "only the id"]) == nil)
    }

    @Test func theSTSEndpointIsRegionalUnlessLegacyOrOverridden() {
        func endpoint(_ env: [String: String]) -> String? {
            var env = env
            env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/t"
            env["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/r"
            guard case .webIdentity(let web)? = S3CredentialSource.detect(env) else { return nil }
            return web.stsEndpoint.absoluteString
        }
        #expect(endpoint(["AWS_REGION": "eu-west-1"]) == "https://sts.eu-west-1.amazonaws.com/")
        #expect(endpoint(["AWS_DEFAULT_REGION": "cn-north-1"]) == "https://sts.cn-north-1.amazonaws.com.cn/")
        #expect(endpoint(["AWS_REGION": "eu-west-1", "AWS_STS_REGIONAL_ENDPOINTS": "legacy"]) == "https://sts.amazonaws.com/")
        #expect(endpoint([:]) == "https://sts.amazonaws.com/")
        #expect(endpoint(["AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_STS": "https://sts.internal:8443"]) == "https://sts.internal:8443")
    }

    @Test func theContainerEndpointIsPlainHTTPOnlyToTheNodeOrLoopback() {
        func source(_ env: [String: String]) -> S3CredentialSource? { S3CredentialSource.detect(env) }
        guard case .containerEndpoint(let relative)? = source(["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"]) else {
            Issue.record("RELATIVE_URI not read")
            return
        }
        #expect(relative.url.absoluteString == "http://169.254.170.2/v2/credentials/abc")
        let podIdentity = source([
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
        ])
        guard case .containerEndpoint(let eks)? = podIdentity else {
            Issue.record("EKS Pod Identity not read")
            return
        }
        #expect(eks.tokenFile?.hasSuffix("eks-pod-identity-token") == true)
        guard case .misconfigured(let problem)? = source(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://metadata.example.com/creds"]) else {
            Issue.record("plain http to another host must not be used")
            return
        }
        #expect(problem.contains("use https"))
        if case .containerEndpoint = source(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "https://creds.example.com/x"]) {
        } else {
            Issue.record("https to any host is allowed")
        }
    }

    @Test func refreshIsAheadOfExpiryWithJitterAndAQuarterOfAShortLifetime() {
        let fetched = Date(timeIntervalSince1970: 1_000_000)
        let hour = TemporaryCredentials(
            credentials: .init(accessKeyId: "a", secretAccessKey: "b"), expiration: fetched.addingTimeInterval(3600), fetched: fetched)
        #expect(hour.refreshTime(random: 0) == fetched.addingTimeInterval(3300))
        #expect(hour.refreshTime(random: 0.999)!.timeIntervalSince(fetched) > 3240.05)
        #expect(hour.refreshTime(random: 0.999)!.timeIntervalSince(fetched) < 3241)
        let short = TemporaryCredentials(
            credentials: .init(accessKeyId: "a", secretAccessKey: "b"), expiration: fetched.addingTimeInterval(20), fetched: fetched)
        #expect(short.refreshTime(random: 0) == fetched.addingTimeInterval(15))
        #expect(short.refreshTime(random: 0.5) == fetched.addingTimeInterval(14))
        #expect(short.usable(at: fetched.addingTimeInterval(18.9)))
        #expect(!short.usable(at: fetched.addingTimeInterval(19)))
        let forever = TemporaryCredentials(credentials: .init(accessKeyId: "a", secretAccessKey: "b"), expiration: nil, fetched: fetched)
        #expect(forever.refreshTime(random: 0) == nil)
        #expect(forever.usable(at: .distantFuture))
    }
}
