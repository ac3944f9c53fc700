import AffinityCore
import XCTest

final class SessionIdentityTests: XCTestCase {
    func testSessionIdIsOcPrefixAndSixteenLowercaseHexDigits() {
        let identity = SessionIdentity.derive(from: .init(localSessionId: "abc", cwd: "/"))
        XCTAssertEqual(identity.sessionId, "oc:" + sha16("session:abc"))
        XCTAssertNotNil(identity.sessionId.wholeMatch(of: /oc:[0-9a-f]{16}/))
        XCTAssertEqual(identity.source, .session)
    }

    func testWorkspaceTierHashesTheResolvedPathWithoutPrefix() {
        let identity = SessionIdentity.derive(from: .init(workspaceDir: "/home/u/.openclaw/workspace-a/", cwd: "/"))
        XCTAssertEqual(identity.sessionId, "oc:" + sha16("/home/u/.openclaw/workspace-a"))
        XCTAssertEqual(identity.sessionSourceHint, "source:" + sha16("workspaceDir:/home/u/.openclaw/workspace-a/"))
    }

    func testRelativeWorkspaceMatchesTheAbsoluteOneFromTheSameDirectory() {
        let relative = SessionIdentity.derive(from: .init(workspaceDir: "workspace-a", cwd: "/home/u/.openclaw"))
        let absolute = SessionIdentity.derive(from: .init(workspaceDir: "/home/u/.openclaw/workspace-a", cwd: "/elsewhere"))
        XCTAssertEqual(relative.sessionId, absolute.sessionId)
    }

    func testKnownWorkspaceDecidesTheHintEvenWhenTheNativeSessionIdDecidesTheId() {
        let identity = SessionIdentity.derive(from: .init(localSessionId: "native", workspaceDir: "/w", cwd: "/"))
        XCTAssertEqual(identity.source, .session)
        XCTAssertEqual(identity.sessionId, "oc:" + sha16("session:native"))
        XCTAssertEqual(identity.sessionSourceHint, "source:" + sha16("workspaceDir:/w"))
    }

    func testBlankTierInputsAreSkipped() {
        let identity = SessionIdentity.derive(
            from: .init(localSessionId: " ", workspaceDir: "\n", openclawSessionId: "", agentId: "\t", runId: "run-1", cwd: "/")
        )
        XCTAssertEqual(identity.source, .agent)
        XCTAssertEqual(identity.sessionId, "oc:" + sha16("agent:run-1"))
    }

    func testOverlongTierInputIsSkippedNotTruncated() {
        let identity = SessionIdentity.derive(
            from: .init(openclawSessionId: String(repeating: "x", count: 201), agentId: "a", cwd: "/")
        )
        XCTAssertEqual(identity.source, .agent)
    }

    func testStateDirFallsBackToHomeDotOpenclaw() {
        let identity = SessionIdentity.derive(from: .init(home: "/home/u", cwd: "/tmp"))
        XCTAssertEqual(identity.source, .stateDir)
        XCTAssertEqual(identity.sessionId, "oc:" + sha16("/home/u/.openclaw"))
        XCTAssertEqual(identity.sessionSourceHint, "source:" + sha16("stateDir:/home/u/.openclaw"))
    }

    func testServiceVariantRefusesARelativeWorkspaceDir() {
        XCTAssertThrowsError(
            try SessionIdentity.deriveRequiringAbsoluteWorkspace(from: .init(workspaceDir: "workspace-a", cwd: "/"))
        ) { error in
            XCTAssertEqual(error as? SessionIdentityError, .relativeWorkspaceDir)
        }
    }

    func testServiceVariantAgreesWithThePluginForAbsoluteOrMissingWorkspace() throws {
        for input in [
            SessionIdentityInput(workspaceDir: "/home/u/.openclaw/workspace-a", cwd: "/"),
            SessionIdentityInput(workspaceDir: "   ", openclawSessionId: "s", cwd: "/"),
            SessionIdentityInput(localSessionId: "l", cwd: "/"),
        ] {
            XCTAssertEqual(try SessionIdentity.deriveRequiringAbsoluteWorkspace(from: input), SessionIdentity.derive(from: input))
        }
    }

    func testSourceRawValuesAreTheSpecStrings() {
        XCTAssertEqual(SessionSource.allCases.map(\.rawValue), ["session", "workspace", "env", "agent", "stateDir"])
    }

    func testRequesterHostIdHashesTheHostname() {
        XCTAssertEqual(requesterHostId(hostname: "gateway-1"), "host:" + sha16("gateway-1"))
    }

    func testSha16OfEmptyStringIsThePrefixOfTheKnownDigest() {
        XCTAssertEqual(sha16(""), "e3b0c44298fc1c14")
        XCTAssertEqual(sha16("abc"), "ba7816bf8f01cfea")
    }
}
