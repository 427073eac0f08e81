"""Key names that hash into one segment (slot range), for the migration tests."""
from redis.crc import key_slot


def keys_in_segment(prefix, n, segment_size, segment):
    """The first n names "<prefix>:<i>" whose slot lies in segment `segment`."""
    out, i = [], 0
    while len(out) < n:
        k = "%s:%d" % (prefix, i)
        if key_slot(k.encode()) // segment_size == segment:
            out.append(k)
        i += 1
    return out
