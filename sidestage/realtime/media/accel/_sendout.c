/*
 * One viewer's copy of a stage frame, sealed with SRTP and handed to the kernel in one
 * call from Python: the native half of rtp_writer.RtpWriter (see sendout.py for why).
 *
 * A Target is one viewer's sending state: its SRTP session (libsrtp's srtp_t, reached
 * through pylibsrtp, whose Session object the Target keeps alive), its UDP socket and
 * address, its SSRC and next sequence number, and the history of packets sent, kept for
 * retransmissions. Target.send(templates, timestamp, direct) stamps each RTP packet
 * template with the viewer's sequence number, timestamp and SSRC, protects it in place
 * and, when `direct` is true, writes them with one sendmsg (UDP segmentation offload on
 * Linux) or one sendmmsg per run of up to 64 packets. What the kernel would not take is
 * returned, sealed, for the caller to hand to the socket's asyncio transport, which
 * buffers and reports errors as it always does.
 *
 * The GIL is held throughout: one event loop thread uses these objects, and the shared
 * scratch buffer holds nothing from one call to the next.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifdef __linux__
#include <netinet/udp.h>
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#define HAVE_SEGMENTATION 1
#define HAVE_SENDMMSG 1
#endif

#define MAX_PACKETS 64          /* packets per send, as UDP_MAX_SEGMENTS; a frame takes runs */
#define MAX_PACKET 1500         /* an RTP packet template, at most */
#define MAX_TRAILER 144         /* libsrtp's SRTP_MAX_TRAILER_LEN */
#define SLOT 1664               /* MAX_PACKET + MAX_TRAILER, rounded to 64 */
#define MAX_SEGMENTED_BYTES 65000
#define HISTORY 128             /* packets kept per viewer for retransmission */
#define RTP_HEADER 12

typedef int (*protect_fn)(void *srtp, void *packet, int *length);

typedef struct {
    PyObject *template;         /* bytes, or NULL */
    uint32_t timestamp;
    uint16_t sequence;
} Sent;

typedef struct {
    PyObject_HEAD
    protect_fn protect;
    void *srtp;
    PyObject *session;          /* keeps the srtp_t alive */
    PyObject *sock;
    struct sockaddr_storage address;
    socklen_t address_length;
    uint32_t ssrc;
    uint16_t sequence;
    Sent history[HISTORY];
} Target;

static _Alignas(64) unsigned char scratch[MAX_PACKETS][SLOT];
static int segmentation_works = 1;

static int
parse_address(PyObject *address, int family, struct sockaddr_storage *out, socklen_t *length)
{
    const char *host;
    int port;
    memset(out, 0, sizeof(*out));
    if (!PyArg_ParseTuple(address, "si", &host, &port))
        return -1;
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "port out of range");
        return -1;
    }
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)out;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
            *length = sizeof(*in);
            return 0;
        }
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
            *length = sizeof(*in6);
            return 0;
        }
    }
    PyErr_Format(PyExc_ValueError, "not a numeric address of the socket's family: %s", host);
    return -1;
}

static int
Target_init(Target *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {
        "protect", "srtp", "session", "sock", "family", "address", "ssrc", "sequence", NULL};
    unsigned long long protect, srtp;
    PyObject *session, *sock, *address;
    int family;
    unsigned long ssrc;
    int sequence;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "KKOOiOki", names, &protect, &srtp,
                                     &session, &sock, &family, &address, &ssrc, &sequence))
        return -1;
    if (!protect || !srtp) {
        PyErr_SetString(PyExc_ValueError, "null SRTP function or session");
        return -1;
    }
    if (sequence < 0 || sequence > 0xFFFF || ssrc > 0xFFFFFFFFUL) {
        PyErr_SetString(PyExc_ValueError, "sequence number or SSRC out of range");
        return -1;
    }
    if (parse_address(address, family, &self->address, &self->address_length) < 0)
        return -1;
    self->protect = (protect_fn)(uintptr_t)protect;
    self->srtp = (void *)(uintptr_t)srtp;
    Py_INCREF(session);
    Py_XSETREF(self->session, session);
    Py_INCREF(sock);
    Py_XSETREF(self->sock, sock);
    self->ssrc = (uint32_t)ssrc;
    self->sequence = (uint16_t)sequence;
    return 0;
}

static void
Target_dealloc(Target *self)
{
    for (int i = 0; i < HISTORY; i++)
        Py_CLEAR(self->history[i].template);
    Py_CLEAR(self->session);
    Py_CLEAR(self->sock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static void
put_header(unsigned char *packet, uint16_t sequence, uint32_t timestamp, uint32_t ssrc)
{
    packet[2] = sequence >> 8;
    packet[3] = sequence & 0xFF;
    packet[4] = timestamp >> 24;
    packet[5] = (timestamp >> 16) & 0xFF;
    packet[6] = (timestamp >> 8) & 0xFF;
    packet[7] = timestamp & 0xFF;
    packet[8] = ssrc >> 24;
    packet[9] = (ssrc >> 16) & 0xFF;
    packet[10] = (ssrc >> 8) & 0xFF;
    packet[11] = ssrc & 0xFF;
}

/* Every template is bytes of an RTP packet's size: checked before anything is sent. */
static int
check_templates(PyObject *templates)
{
    Py_ssize_t count = PyList_GET_SIZE(templates);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *template = PyList_GET_ITEM(templates, i);
        if (!PyBytes_Check(template)) {
            PyErr_SetString(PyExc_TypeError, "packet templates must be bytes");
            return -1;
        }
        Py_ssize_t size = PyBytes_GET_SIZE(template);
        if (size < RTP_HEADER || size > MAX_PACKET) {
            PyErr_Format(PyExc_ValueError, "an RTP packet of %zd bytes cannot be sent", size);
            return -1;
        }
    }
    return 0;
}

/* Seal templates [start, start + count) into scratch, numbered on from self->sequence. */
static int
seal_run(Target *self, PyObject *templates, Py_ssize_t start, int count, uint32_t timestamp,
         int *lengths)
{
    for (int i = 0; i < count; i++) {
        PyObject *template = PyList_GET_ITEM(templates, start + i);
        Py_ssize_t size = PyBytes_GET_SIZE(template);
        unsigned char *slot = scratch[i];
        memcpy(slot, PyBytes_AS_STRING(template), (size_t)size);
        put_header(slot, (uint16_t)(self->sequence + i), timestamp, self->ssrc);
        int length = (int)size;
        int status = self->protect(self->srtp, slot, &length);
        if (status != 0) {
            PyErr_Format(PyExc_RuntimeError, "srtp_protect failed (libsrtp status %d)", status);
            return -1;
        }
        lengths[i] = length;
    }
    return 0;
}

/* Templates [start, start + count) are sealed: note them for retransmissions. */
static void
remember(Target *self, PyObject *templates, Py_ssize_t start, int count, uint32_t timestamp)
{
    for (int i = 0; i < count; i++) {
        PyObject *template = PyList_GET_ITEM(templates, start + i);
        Sent *entry = &self->history[self->sequence % HISTORY];
        Py_INCREF(template);
        Py_XSETREF(entry->template, template);
        entry->sequence = self->sequence;
        entry->timestamp = timestamp;
        self->sequence = (uint16_t)(self->sequence + 1);
    }
}

#ifdef HAVE_SEGMENTATION
/* One segmented sendmsg for packets [0, count): 1 if the kernel took them, 0 if not (errno). */
static int
send_segmented(Target *self, int fd, const int *lengths, int count)
{
    struct iovec parts[MAX_PACKETS];
    union {
        char bytes[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    memset(&control, 0, sizeof(control));
    for (int i = 0; i < count; i++) {
        parts[i].iov_base = scratch[i];
        parts[i].iov_len = (size_t)lengths[i];
    }
    message.msg_name = &self->address;
    message.msg_namelen = self->address_length;
    message.msg_iov = parts;
    message.msg_iovlen = (size_t)count;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof(control.bytes);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_UDP;
    header->cmsg_type = UDP_SEGMENT;
    header->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t segment = (uint16_t)lengths[0];
    memcpy(CMSG_DATA(header), &segment, sizeof(segment));
    return sendmsg(fd, &message, 0) >= 0;
}

/* True when one segmented send can carry them: all one size but a last, shorter one. */
static int
segmentable(const int *lengths, int count)
{
    int total = 0;
    if (count < 2 || !segmentation_works)
        return 0;
    for (int i = 0; i < count; i++) {
        if (i < count - 1 ? lengths[i] != lengths[0] : lengths[i] > lengths[0])
            return 0;
        total += lengths[i];
    }
    return total <= MAX_SEGMENTED_BYTES;
}
#endif

/* Datagram by datagram (one sendmmsg where there is one): how many the kernel took. */
static int
send_each(Target *self, int fd, const int *lengths, int count)
{
#ifdef HAVE_SENDMMSG
    struct mmsghdr messages[MAX_PACKETS];
    struct iovec parts[MAX_PACKETS];
    memset(messages, 0, sizeof(messages[0]) * (size_t)count);
    for (int i = 0; i < count; i++) {
        parts[i].iov_base = scratch[i];
        parts[i].iov_len = (size_t)lengths[i];
        messages[i].msg_hdr.msg_name = &self->address;
        messages[i].msg_hdr.msg_namelen = self->address_length;
        messages[i].msg_hdr.msg_iov = &parts[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(fd, messages, (unsigned int)count, 0);
    return sent < 0 ? 0 : sent;
#else
    int sent = 0;
    while (sent < count &&
           sendto(fd, scratch[sent], (size_t)lengths[sent], 0,
                  (struct sockaddr *)&self->address, self->address_length) >= 0)
        sent++;
    return sent;
#endif
}

/* How many of the sealed packets the kernel took, from the first, without blocking. */
static int
send_sealed(Target *self, int fd, const int *lengths, int count)
{
#ifdef HAVE_SEGMENTATION
    if (segmentable(lengths, count)) {
        if (send_segmented(self, fd, lengths, count))
            return count;
        if (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP)
            segmentation_works = 0; /* this kernel or route refuses it: never again */
        else
            return 0;
    }
#endif
    return send_each(self, fd, lengths, count);
}

/* Append sealed packets [from, count) of scratch to *rest, made on first use. */
static int
keep_leftovers(PyObject **rest, const int *lengths, int from, int count)
{
    if (*rest == NULL && (*rest = PyList_New(0)) == NULL)
        return -1;
    for (int i = from; i < count; i++) {
        PyObject *sealed = PyBytes_FromStringAndSize((const char *)scratch[i], lengths[i]);
        if (sealed == NULL)
            return -1;
        int failed = PyList_Append(*rest, sealed);
        Py_DECREF(sealed);
        if (failed)
            return -1;
    }
    return 0;
}

static PyObject *
Target_send(Target *self, PyObject *args)
{
    PyObject *templates;
    unsigned long timestamp;
    int direct;
    int lengths[MAX_PACKETS];
    if (!PyArg_ParseTuple(args, "O!kp", &PyList_Type, &templates, &timestamp, &direct))
        return NULL;
    if (check_templates(templates) < 0)
        return NULL;
    int fd = -1;
    if (direct && (fd = PyObject_AsFileDescriptor(self->sock)) < 0)
        PyErr_Clear(); /* closed: the transport reports it, as for any send */
    PyObject *rest = NULL; /* once the kernel refuses a packet, the rest go back too */
    Py_ssize_t total = PyList_GET_SIZE(templates);
    for (Py_ssize_t start = 0; start < total; start += MAX_PACKETS) {
        int count = (int)(total - start < MAX_PACKETS ? total - start : MAX_PACKETS);
        if (seal_run(self, templates, start, count, (uint32_t)timestamp, lengths) < 0)
            goto failed;
        int sent = fd >= 0 && rest == NULL ? send_sealed(self, fd, lengths, count) : 0;
        if (sent < count && keep_leftovers(&rest, lengths, sent, count) < 0)
            goto failed;
        remember(self, templates, start, count, (uint32_t)timestamp);
    }
    if (rest == NULL)
        Py_RETURN_NONE;
    return rest;
failed:
    Py_XDECREF(rest);
    return NULL;
}

static PyObject *
Target_lookup(Target *self, PyObject *arg)
{
    long sequence = PyLong_AsLong(arg);
    if (sequence == -1 && PyErr_Occurred())
        return NULL;
    if (sequence < 0 || sequence > 0xFFFF) {
        PyErr_SetString(PyExc_ValueError, "not an RTP sequence number");
        return NULL;
    }
    Sent *entry = &self->history[sequence % HISTORY];
    if (entry->template == NULL || entry->sequence != sequence)
        Py_RETURN_NONE;
    return Py_BuildValue("Ok", entry->template, (unsigned long)entry->timestamp);
}

static PyMethodDef Target_methods[] = {
    {"send", (PyCFunction)Target_send, METH_VARARGS,
     "send(templates, timestamp, direct) -> None, or the sealed packets left to send"},
    {"lookup", (PyCFunction)Target_lookup, METH_O,
     "lookup(sequence) -> (template, timestamp) of a packet still in the history, or None"},
    {NULL}};

static PyMemberDef Target_members[] = {
    {"sequence", T_USHORT, offsetof(Target, sequence), READONLY, "the next sequence number"},
    {"ssrc", T_UINT, offsetof(Target, ssrc), READONLY, "the viewer's SSRC"},
    {NULL}};

static PyTypeObject TargetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sidestage.realtime.media._sendout.Target",
    .tp_doc = "One viewer's SRTP session, socket, address, SSRC, sequence and history.",
    .tp_basicsize = sizeof(Target),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Target_init,
    .tp_dealloc = (destructor)Target_dealloc,
    .tp_methods = Target_methods,
    .tp_members = Target_members,
};

static struct PyModuleDef sendout_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sidestage.realtime.media._sendout",
    .m_doc = "Seal and send one viewer's copy of a stage frame in one call.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__sendout(void)
{
    if (PyType_Ready(&TargetType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&sendout_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&TargetType);
    if (PyModule_AddObject(module, "Target", (PyObject *)&TargetType) < 0) {
        Py_DECREF(&TargetType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
