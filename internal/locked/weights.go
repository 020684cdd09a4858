package locked

import "errors"

// ErrWeightsNeedUnlimited is returned by CheckWeightsLockable when the
// model's weights are to be locked but locked memory is limited.
var ErrWeightsNeedUnlimited = errors.New("locked: SOTTO_MLOCK_WEIGHTS needs unlimited locked memory (LimitMEMLOCK=infinity or CAP_IPC_LOCK)")

// CheckWeightsLockable refuses to lock the model weights under a finite
// locked-memory limit (limit from RaiseLimit; negative is unlimited).
//
// llama.cpp locks the weights up to the limit, silently stopping at it,
// while the budget still counts the whole limit as free: memguard's next
// mlock then fails, and memguard panics and wipes every key. Sizing the
// budget from VmLck after the model loads was the other choice; it was
// not taken because the keys are locked before the model loads (the
// budget would shrink under buffers already handed out) and the weights
// would stay partly locked without a word. Refusing at start is the one
// outcome an operator cannot misread.
func CheckWeightsLockable(limit int64) error {
	if limit >= 0 {
		return ErrWeightsNeedUnlimited
	}
	return nil
}
