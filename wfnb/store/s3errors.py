"""What goes wrong with a store in object storage, said in words that tell the user what to do.

The S3 client raises errors of many kinds (botocore's, aiohttp's, fsspec's, OS
errors); a user should see one ``StoreError`` naming the store, the action and
the likely fix: credentials, the bucket, the endpoint, a full disk for the cache.
"""

from __future__ import annotations

import errno

from wfnb.errors import StoreError

_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def describe_error(root: str, err: BaseException, action: str, rel: str | None = None) -> StoreError:
    """Turn an exception of the file system or its client into a StoreError that says what to do."""
    where = f"{root}/{rel}" if rel else root
    reason = f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"
    code = getattr(err, "errno", None)
    if isinstance(err, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return StoreError(
            f"Access to the store at {root} was denied ({reason}) while trying to {action} {where}. "
            "Check the credentials (AWS_ACCESS_KEY_ID / AWS_PROFILE, or storage_options in wfnb.configure or "
            "WFNB_STORAGE_OPTIONS) and the bucket's permissions."
        )
    if code in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(
            f"The local cache of the store at {root} is on a full disk ({reason}) while trying to {action} "
            f"{where}. Free some space, or move the cache with WFNB_CACHE_DIR."
        )
    return StoreError(
        f"Could not {action} {where} in the store at {root} ({reason}). Check the network, the endpoint "
        "and the credentials (storage_options in wfnb.configure or WFNB_STORAGE_OPTIONS, AWS_* variables)."
    )


def no_bucket(root: str, err: BaseException) -> StoreError:
    """The bucket a store names is not there."""
    return StoreError(
        f"The bucket of the store at {root} does not exist ({err}). Create it first, or check the "
        "location and the endpoint (storage_options in wfnb.configure or WFNB_STORAGE_OPTIONS)."
    )


def missing_s3fs(url: str) -> str:
    return (
        f"The store location {url!r} is in object storage, which needs s3fs (and fsspec). Install them with "
        "`pip install 'wfnb[s3]'`, or use a local directory."
    )


def is_conflict(err: BaseException) -> bool:
    """True for "the condition did not hold": 412 Precondition Failed, 409 ConditionalRequestConflict."""
    if isinstance(err, FileExistsError):
        return True
    for candidate in (err, err.__cause__, err.__context__):
        response = getattr(candidate, "response", None)
        if isinstance(response, dict):
            code = str(response.get("Error", {}).get("Code", ""))
            status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if code in _CONFLICT_CODES or status in ("412", "409"):
                return True
    return False
