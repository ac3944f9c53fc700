import AffinityCore
import CaptureStore
import Foundation
import NIOEmbedded
import XCTest

@testable import CaptureServer

/// `WriteQueue.takeRecords`: what the writer commits between a prune's chunks, and its pause's wait for records.
final class WriteQueueTests: XCTestCase {
    private let queue = WriteQueue(capacity: 16)
    private let loop = EmbeddedEventLoop()

    private func record(_ session: String) -> WriterJob {
        let capture = NewCapture(
            sessionId: session, agentId: "main", capturedAt: 1_700_000_000_000,
            fields: CaptureFields(
                taasRequestId: nil, taasTraceId: "trace", openclawTurnId: nil, openclawAttempt: "1",
                autorouterModel: "model-x", autorouterAlgo: "algo", autorouterAlgoSource: "source",
                thinkingApplied: "false", routedContextWindow: 128_000
            ),
            idempotencyKey: nil
        )
        return .record(capture, WriterCompletion(eventLoop: loop, deliver: { _ in }))
    }

    private func sessions(_ jobs: [WriterJob]) -> [String] {
        jobs.compactMap { if case .record(let capture, _) = $0 { capture.sessionId } else { nil } }
    }

    /// A pause of up to 5 s (`takeRecords(waitingUntil:)`) while another thread does `action` 50 ms in: what it took,
    /// whether the prune should end, and how many seconds it waited.
    private func pauseEnded(by action: @escaping @Sendable () -> Void) -> (records: [WriterJob], ending: Bool, waited: Double) {
        let other = Thread {
            Thread.sleep(forTimeInterval: 0.05)
            action()
        }
        let started = Date()
        other.start()
        let (taken, ending) = queue.takeRecords(max: 8, waitingUntil: started.addingTimeInterval(5))
        return (taken, ending, Date().timeIntervalSince(started))
    }

    func testTakesOnlyRecordsUpToMaxAndLeavesOtherJobsQueuedInOrder() {
        XCTAssertTrue(queue.submit(record("oc:a")))
        XCTAssertTrue(queue.submit(.change { _ in }))
        XCTAssertTrue(queue.submit(record("oc:b")))
        XCTAssertTrue(queue.submit(record("oc:c")))
        let (taken, stopping) = queue.takeRecords(max: 2)
        XCTAssertEqual(sessions(taken), ["oc:a", "oc:b"])
        XCTAssertFalse(stopping)
        let rest = queue.take(max: 10, deadline: Date().addingTimeInterval(5)).jobs
        XCTAssertEqual(rest.count, 2)
        if case .change = rest[0] {} else { XCTFail("the change stays first") }
        XCTAssertEqual(sessions(rest), ["oc:c"])
    }

    func testAPauseEndsAtItsDeadlineWithoutRecordsAndKeepsOtherJobs() {
        XCTAssertTrue(queue.submit(.change { _ in }))
        let deadline = Date().addingTimeInterval(0.05)
        let (taken, stopping) = queue.takeRecords(max: 8, waitingUntil: deadline)
        XCTAssertTrue(taken.isEmpty)
        XCTAssertFalse(stopping)
        XCTAssertGreaterThanOrEqual(Date(), deadline, "it waited for the deadline")
        XCTAssertEqual(queue.depth, 1)
    }

    /// A record queued behind another job must still wake a pause at once (a pause lasts as long as a chunk).
    func testARecordQueuedBehindAnotherJobEndsThePausesWait() {
        XCTAssertTrue(queue.submit(.change { _ in }))
        let queue = self.queue
        let job = record("oc:late")
        let (taken, _, waited) = pauseEnded { _ = queue.submit(job) }
        XCTAssertEqual(sessions(taken), ["oc:late"])
        XCTAssertLessThan(waited, 4, "woken by the record, not by the deadline")
        XCTAssertEqual(queue.depth, 1, "the change is still queued")
    }

    func testStoppingEndsThePausesWait() {
        let queue = self.queue
        let (taken, stopping, waited) = pauseEnded { queue.stop() }
        XCTAssertTrue(taken.isEmpty)
        XCTAssertTrue(stopping)
        XCTAssertLessThan(waited, 4)
    }

    /// Shutdown begins (the socket stops accepting): a prune's pause ends and the prune is told to end, while jobs
    /// are still queued and taken until the queue stops.
    func testWindingDownEndsThePausesWaitButStillTakesJobs() {
        let queue = self.queue
        let (taken, ending, waited) = pauseEnded { queue.windDown() }
        XCTAssertTrue(taken.isEmpty)
        XCTAssertTrue(ending)
        XCTAssertLessThan(waited, 4)
        XCTAssertTrue(queue.submit(record("oc:after")), "still accepting what connections have read")
        XCTAssertEqual(sessions(queue.takeRecords(max: 8).records), ["oc:after"])
    }

    func testAPruneTakesHalfTheWritersTime() {
        XCTAssertEqual(RetentionPace.pause(after: .milliseconds(120)), .milliseconds(120))
        XCTAssertEqual(RetentionPace.pause(after: .seconds(5)), RetentionPace.longestPause, "a chunk that waited on a lock")
        XCTAssertEqual(RetentionPace.pause(after: .zero), .zero)
        XCTAssertEqual(RetentionPace.pause(after: .milliseconds(-5)), .zero)
    }
}
