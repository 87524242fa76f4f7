// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "../RelayedAccessControl.sol";
import {WorkRegistry} from "../WorkRegistry.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {OutputRegistry} from "../OutputRegistry.sol";
import {LedgerForwarder} from "../LedgerForwarder.sol";
import {CheatCodes} from "./Vm.sol";
import {WorkPacking, WorkStates} from "./WorkStates.sol";

contract ModelOutputRegistryTest is CheatCodes, WorkStates {
    using WorkPacking for WorkRegistry.WorkInput[];
    WorkRegistry internal works;
    ModelRegistry internal models;
    OutputRegistry internal outputs;
    uint16 internal constant TRAINING = 0x51; // data_mining, ai_generative_training, ai_training
    address internal constant HOLDER = address(0xA11CE);
    address internal constant PLATFORM = address(0x9147F0);
    address internal constant OTHER_PLATFORM = address(0x9147F1);
    uint64 internal model;

    function setUp() public {
        LedgerForwarder fwd = new LedgerForwarder();
        works = new WorkRegistry(address(this), address(fwd));
        models = new ModelRegistry(address(this), address(fwd));
        outputs = new OutputRegistry(address(this), address(fwd), works, models);
        works.grantRole(works.RIGHTS_HOLDER_ROLE(), HOLDER);
        models.grantRole(models.PLATFORM_ROLE(), PLATFORM);
        models.grantRole(models.PLATFORM_ROLE(), OTHER_PLATFORM);
        outputs.grantRole(outputs.PLATFORM_ROLE(), PLATFORM);
        outputs.grantRole(outputs.PLATFORM_ROLE(), OTHER_PLATFORM);

        WorkRegistry.WorkInput[] memory batch = new WorkRegistry.WorkInput[](4);
        WorkRegistry.Owner[] memory owners = new WorkRegistry.Owner[](1);
        owners[0] = WorkRegistry.Owner({account: HOLDER, payout: HOLDER, shareBps: 10_000});
        for (uint256 i; i < 4; ++i) {
            batch[i] = WorkRegistry.WorkInput({
                contentHash: bytes32(i + 1),
                metadataCid: "bafkrei-metadata",
                terms: WorkRegistry.Terms({uses: TRAINING, royaltyBps: 500, expiresAt: 0, constraints: ""}),
                owners: owners
            });
        }
        vm.prank(HOLDER);
        _track(works.registerWorks(batch.pack()), HOLDER, batch);
        (bytes32 root,) = _tree4();
        model = _registerModel(PLATFORM, root, 4, 0);
    }

    // ---- helpers ----------------------------------------------------------------------------

    function _updateTerms(uint64 id, WorkRegistry.Terms memory t) internal {
        vm.prank(states[id].manager);
        works.updateTerms(states[id], t);
        _termsChanged(id, t);
    }

    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @dev Root over works 1..4 and the proof for work 1.
    function _tree4() internal view returns (bytes32 root, bytes32[] memory proofFor1) {
        bytes32 a = _hashPair(models.leaf(1), models.leaf(2));
        bytes32 b = _hashPair(models.leaf(3), models.leaf(4));
        root = _hashPair(a, b);
        proofFor1 = new bytes32[](2);
        proofFor1[0] = models.leaf(2);
        proofFor1[1] = b;
    }

    function _registerModel(address platform, bytes32 root, uint32 size, uint64 base) internal returns (uint64) {
        vm.prank(platform);
        return models.registerModel(
            ModelRegistry.ModelInput({
                name: "anime-diffusion",
                version: "1.0",
                weightsHash: keccak256("weights"),
                metadataCid: "bafkrei-model",
                trainingRoot: root,
                trainingSetSize: size,
                trainingSetCid: "bafkrei-set",
                baseModelId: base,
                generative: true
            })
        );
    }

    function _output(bytes32 h, uint64 m, uint64 w1, uint16 a, uint64 w2, uint16 b)
        internal
        pure
        returns (OutputRegistry.OutputInput[] memory batch)
    {
        uint256[] memory links = new uint256[](2);
        links[0] = _link(w1, a, OutputRegistry.LinkKind.Training);
        links[1] = _link(w2, b, OutputRegistry.LinkKind.Training);
        batch = new OutputRegistry.OutputInput[](1);
        batch[0] = OutputRegistry.OutputInput({outputHash: h, modelId: m, links: links});
    }

    /// @dev A link's word, written from the layout the contract documents (not with its own helper,
    /// which testLinkWordsRoundTrip checks against this).
    function _link(uint64 workId, uint16 weightBps, OutputRegistry.LinkKind kind) internal pure returns (uint256) {
        return uint256(workId) << 24 | uint256(weightBps) << 8 | uint256(kind);
    }

    // ---- models -----------------------------------------------------------------------------

    function testMembershipProofVerifies() public view {
        (, bytes32[] memory proof) = _tree4();
        require(models.isInTrainingSet(model, 1, proof), "member");
        require(!models.isInTrainingSet(model, 5, proof), "non-member has no proof");
        require(models.platformOf(model) == PLATFORM, "platform");
    }

    function testFineTuneInheritsBaseTrainingSet() public {
        uint64 tuned = _registerModel(PLATFORM, models.leaf(7), 1, model); // own set: work 7 alone
        (, bytes32[] memory proof) = _tree4();
        require(models.isInTrainingSet(tuned, 1, proof), "inherited from base");
        require(models.isInTrainingSet(tuned, 7, new bytes32[](0)), "own set");
        require(!models.isInTrainingSet(model, 7, new bytes32[](0)), "base does not inherit from tune");
        require(models.modelOf(tuned).depth == 1, "depth");
    }

    function testOnlyPlatformsRegisterModels() public {
        bytes32 role = models.PLATFORM_ROLE();
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, HOLDER, role));
        _registerModel(HOLDER, bytes32(uint256(1)), 1, 0);
    }

    function testUnknownBaseModelAndEmptySetRefused() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, uint64(99)));
        _registerModel(PLATFORM, bytes32(uint256(1)), 1, 99);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.EmptyTrainingSet.selector));
        _registerModel(PLATFORM, bytes32(0), 0, 0);
    }

    // ---- outputs ----------------------------------------------------------------------------

    function testRegistersOutputWithLinks() public {
        vm.prank(PLATFORM);
        uint64 id = outputs.registerOutputs(_output(keccak256("img"), model, 1, 7000, 2, 3000));
        require(id == 1 && outputs.outputIdOf(keccak256("img")) == 1, "registered");
        vm.prank(PLATFORM);
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.OutputAlreadyRegistered.selector, keccak256("img"), uint64(1)));
        outputs.registerOutputs(_output(keccak256("img"), model, 1, 7000, 2, 3000));
    }

    function testFuzzWeightsMustSumToTotal(uint16 a, uint16 b) public {
        vm.assume(a != 0 && b != 0);
        uint256 total = uint256(a) + b;
        vm.prank(PLATFORM);
        if (total != 10_000) vm.expectRevert(abi.encodeWithSelector(OutputRegistry.WeightsDoNotSum.selector, 0, total));
        outputs.registerOutputs(_output(keccak256("x"), model, 1, a, 2, b));
    }

    function testReferenceLinksNeedTheReferenceUse() public {
        OutputRegistry.OutputInput[] memory batch = _output(keccak256("ref"), model, 1, 5000, 2, 5000);
        batch[0].links[1] |= uint256(OutputRegistry.LinkKind.Reference);
        vm.prank(PLATFORM);
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.ReferenceNotAllowed.selector, 0, uint64(2)));
        outputs.registerOutputs(batch);
        // Reference use without training: a reference link is accepted, a training link is not.
        uint16 referenceOnly = uint16(1) << (2 * works.USE_REFERENCE());
        _updateTerms(2, WorkRegistry.Terms({uses: referenceOnly, royaltyBps: 500, expiresAt: 0, constraints: ""}));
        vm.prank(PLATFORM);
        outputs.registerOutputs(batch);
        batch[0].outputHash = keccak256("ref2");
        batch[0].links[1] &= ~uint256(0xff); // LinkKind.Training
        vm.prank(PLATFORM);
        vm.expectRevert(
            abi.encodeWithSelector(OutputRegistry.WorkNotLicensed.selector, 0, uint64(2), WorkRegistry.License.TrainingForbidden)
        );
        outputs.registerOutputs(batch);
    }

    function testConstrainedTrainingLinksAreLeftToTheLedger() public {
        _updateTerms(3, WorkRegistry.Terms({uses: 2 << 4, royaltyBps: 500, expiresAt: 0, constraints: "bafkrei-licence"}));
        vm.prank(PLATFORM);
        outputs.registerOutputs(_output(keccak256("c"), model, 1, 5000, 3, 5000));
        vm.expectEmit();
        emit ModelRegistry.ConstraintsAccepted(PLATFORM, keccak256("bafkrei-licence"), "bafkrei-licence");
        vm.prank(PLATFORM);
        models.acceptConstraints("bafkrei-licence");
        vm.prank(HOLDER);
        vm.expectRevert(); // only platforms accept constraints
        models.acceptConstraints("bafkrei-licence");
        vm.prank(PLATFORM);
        vm.expectRevert(ModelRegistry.EmptyConstraints.selector);
        models.acceptConstraints("");
    }

    function testRevokedWorkCannotBeLinked() public {
        _updateTerms(3, WorkRegistry.Terms({uses: 0, royaltyBps: 500, expiresAt: 0, constraints: ""}));
        vm.prank(PLATFORM);
        vm.expectRevert(
            abi.encodeWithSelector(
                OutputRegistry.WorkNotLicensed.selector, 0, uint64(3), WorkRegistry.License.TrainingForbidden
            )
        );
        outputs.registerOutputs(_output(keccak256("y"), model, 1, 5000, 3, 5000));
    }

    function testExpiredOrUnknownWorkCannotBeLinked() public {
        vm.prank(PLATFORM);
        vm.expectRevert(
            abi.encodeWithSelector(OutputRegistry.WorkNotLicensed.selector, 0, uint64(42), WorkRegistry.License.Unknown)
        );
        outputs.registerOutputs(_output(keccak256("z"), model, 1, 5000, 42, 5000));

        _updateTerms(2, WorkRegistry.Terms({uses: TRAINING, royaltyBps: 500, expiresAt: uint40(block.timestamp + 10), constraints: ""}));
        vm.warp(block.timestamp + 10);
        vm.prank(PLATFORM);
        vm.expectRevert(
            abi.encodeWithSelector(OutputRegistry.WorkNotLicensed.selector, 0, uint64(2), WorkRegistry.License.Expired)
        );
        outputs.registerOutputs(_output(keccak256("z"), model, 1, 5000, 2, 5000));
    }

    /// @dev Links read licences a word of 64 works at a time; a batch whose links cross words, and
    /// works whose licence expires (checked against the clock by the registry), are decided as the
    /// registry decides one work at a time.
    function testLinksAcrossLicenceWordsAndExpiries() public {
        vm.warp(1000);
        WorkRegistry.WorkInput[] memory batch = new WorkRegistry.WorkInput[](130);
        WorkRegistry.Owner[] memory owners = new WorkRegistry.Owner[](1);
        owners[0] = WorkRegistry.Owner({account: HOLDER, payout: HOLDER, shareBps: 10_000});
        for (uint256 i; i < batch.length; ++i) {
            batch[i] = WorkRegistry.WorkInput({
                contentHash: bytes32(i + 100),
                metadataCid: "bafkrei-metadata",
                // every third work expires at 2000; every fifth forbids training
                terms: WorkRegistry.Terms({uses: i % 5 == 0 ? uint16(0x01) : TRAINING, royaltyBps: 500, expiresAt: i % 3 == 0 ? uint40(2000) : 0, constraints: ""}),
                owners: owners
            });
        }
        vm.prank(HOLDER);
        uint64 first = works.registerWorks(batch.pack()); // ids 5..134: words 0, 1 and 2
        OutputRegistry.OutputInput[] memory many = new OutputRegistry.OutputInput[](3);
        uint64[3] memory pick = [first + 1, first + 61, first + 127]; // i = 1, 61, 127: trainable
        for (uint256 k; k < 3; ++k) {
            uint256[] memory one = new uint256[](2);
            one[0] = _link(pick[k], 5000, OutputRegistry.LinkKind.Training);
            one[1] = _link(pick[k] + 2, 5000, OutputRegistry.LinkKind.Training); // i % 3 == 0: expires
            many[k] = OutputRegistry.OutputInput({outputHash: keccak256(abi.encode("across", k)), modelId: model, links: one});
        }
        vm.prank(PLATFORM);
        outputs.registerOutputs(many);

        // i = 5 (id first + 5) forbids training, read from its nibble; i = 60 also expires
        for (uint256 k; k < 2; ++k) {
            uint64 forbidden = first + (k == 0 ? 5 : 60);
            (OutputRegistry.OutputInput[] memory bad) = _output(keccak256(abi.encode("forbidden", k)), model, first + 1, 5000, forbidden, 5000);
            vm.prank(PLATFORM);
            vm.expectRevert(abi.encodeWithSelector(OutputRegistry.WorkNotLicensed.selector, 0, forbidden, WorkRegistry.License.TrainingForbidden));
            outputs.registerOutputs(bad);
        }

        vm.warp(2000); // the expiring works are expired now; the others still link
        uint64 expired = first + 3;
        (OutputRegistry.OutputInput[] memory late) = _output(keccak256("late"), model, first + 1, 5000, expired, 5000);
        vm.prank(PLATFORM);
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.WorkNotLicensed.selector, 0, expired, WorkRegistry.License.Expired));
        outputs.registerOutputs(late);
        (OutputRegistry.OutputInput[] memory fine) = _output(keccak256("fine"), model, first + 1, 5000, first + 4, 5000);
        vm.prank(PLATFORM);
        outputs.registerOutputs(fine);
    }

    function testLinksMustBeSortedAndModelOwnedByCaller() public {
        vm.prank(PLATFORM);
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.LinksNotSorted.selector, 0, 1));
        outputs.registerOutputs(_output(keccak256("s"), model, 2, 5000, 1, 5000));
        vm.prank(OTHER_PLATFORM);
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.NotModelPlatform.selector, model, OTHER_PLATFORM));
        outputs.registerOutputs(_output(keccak256("s"), model, 1, 5000, 2, 5000));
        bytes32 role = outputs.PLATFORM_ROLE();
        vm.prank(HOLDER);
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, HOLDER, role));
        outputs.registerOutputs(_output(keccak256("s"), model, 1, 5000, 2, 5000));
    }

    // ---- corrections ------------------------------------------------------------------------

    event LinksCorrected(uint64 indexed outputId, bytes32 indexed outputHash, uint64 indexed disputeId, uint256[] links);

    function testArbiterCorrectsLinksOfAnOutput() public {
        vm.prank(PLATFORM);
        outputs.registerOutputs(_output(keccak256("img"), model, 1, 7000, 2, 3000));
        // Work 3 is not licensed for training: the arbiter found the output relies on it anyway.
        _updateTerms(3, WorkRegistry.Terms({uses: 0, royaltyBps: 500, expiresAt: 0, constraints: ""}));
        uint256[] memory corrected = _output(keccak256("img"), model, 1, 4000, 3, 6000)[0].links;
        bytes32 role = outputs.ARBITER_ROLE();
        vm.prank(PLATFORM);
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, PLATFORM, role));
        outputs.correctLinks(keccak256("img"), 9, corrected);
        outputs.grantRole(role, address(this));
        vm.expectEmit();
        emit LinksCorrected(1, keccak256("img"), 9, corrected);
        outputs.correctLinks(keccak256("img"), 9, corrected);
    }

    function testOutputWithoutLinksIsRegisteredForItsModelsPool() public {
        OutputRegistry.OutputInput[] memory batch = new OutputRegistry.OutputInput[](1);
        batch[0] = OutputRegistry.OutputInput({outputHash: keccak256("plain"), modelId: model, links: new uint256[](0)});
        vm.expectEmit();
        emit OutputRegistry.OutputRegistered(1, keccak256("plain"), model, new uint256[](0));
        vm.prank(PLATFORM);
        uint64 id = outputs.registerOutputs(batch);
        require(id == 1 && outputs.outputIdOf(keccak256("plain")) == 1, "registered without links");
        uint256[] memory tooMany = new uint256[](65);
        batch[0] = OutputRegistry.OutputInput({outputHash: keccak256("many"), modelId: model, links: tooMany});
        vm.prank(PLATFORM);
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.BadLinkCount.selector, 0, 65));
        outputs.registerOutputs(batch);
    }

    function testCorrectionsAreCheckedLikeRegistrations() public {
        vm.prank(PLATFORM);
        outputs.registerOutputs(_output(keccak256("img"), model, 1, 7000, 2, 3000));
        outputs.grantRole(outputs.ARBITER_ROLE(), address(this));
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.UnknownOutput.selector, keccak256("nope")));
        outputs.correctLinks(keccak256("nope"), 1, _output(keccak256("nope"), model, 1, 5000, 2, 5000)[0].links);
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.UnknownWork.selector, uint64(42)));
        outputs.correctLinks(keccak256("img"), 1, _output(keccak256("img"), model, 1, 5000, 42, 5000)[0].links);
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.WeightsDoNotSum.selector, 0, 9000));
        outputs.correctLinks(keccak256("img"), 1, _output(keccak256("img"), model, 1, 5000, 2, 4000)[0].links);
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.LinksNotSorted.selector, 0, 1));
        outputs.correctLinks(keccak256("img"), 1, _output(keccak256("img"), model, 2, 5000, 1, 5000)[0].links);
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.BadLinkCount.selector, 0, 0));
        outputs.correctLinks(keccak256("img"), 1, new uint256[](0));
        uint256[] memory odd = _output(keccak256("img"), model, 1, 5000, 2, 5000)[0].links;
        odd[1] |= uint256(1) << 88;
        vm.expectRevert(abi.encodeWithSelector(OutputRegistry.BadLink.selector, 0, odd[1]));
        outputs.correctLinks(keccak256("img"), 1, odd);
    }

    /// @dev Any word with bits above the fields or an unknown kind is refused, in a registration as
    /// in a correction; any well-formed one round-trips through the contract's helpers.
    function testFuzzLinkWords(uint256 word, bool wellFormed) public {
        if (wellFormed) word = (word & ((uint256(1) << 88) - 1)) & ~uint256(0xfe); // fields only, kind 0 or 1
        bool bad = word >> 88 != 0 || uint8(word) > 1;
        if (bad) {
            vm.expectRevert(abi.encodeWithSelector(OutputRegistry.BadLink.selector, 0, word));
            outputs.unpackLink(word);
            OutputRegistry.OutputInput[] memory batch = _output(keccak256("w"), model, 1, 5000, 2, 5000);
            batch[0].links[1] = word;
            vm.prank(PLATFORM);
            vm.expectRevert(abi.encodeWithSelector(OutputRegistry.BadLink.selector, 0, word));
            outputs.registerOutputs(batch);
            return;
        }
        (uint64 workId, uint16 weightBps, OutputRegistry.LinkKind kind) = outputs.unpackLink(word);
        require(_link(workId, weightBps, kind) == word, "round trip");
        require(outputs.linkOf(workId, weightBps, kind) == word, "the contract's helper packs the same");
    }
}
