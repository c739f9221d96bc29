/*
 * Why this exists
 * ---------------
 * Delta's transaction log is only as safe as its "mutual exclusion" guarantee: exactly one writer
 * may create _delta_log/<version>.json (https://docs.delta.io/latest/delta-storage.html). Delta's
 * default for s3a, S3SingleDriverLogStore, provides it only inside one JVM (a lock and an exists()
 * check before an unconditional PUT), so a stale second driver (a paused driver whose lease has
 * already passed to another) could overwrite a commit and silently lose the other's data.
 *
 * S3 and MinIO now offer the fence themselves: a PUT with `If-None-Match: *` fails with
 * 412 Precondition Failed when the key exists
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html). Hadoop's S3A
 * (3.4.2+) sends it for createFile(path).must("fs.option.create.conditional.overwrite", true) when
 * fs.s3a.create.conditional.enabled is true, and reports the 412 as RemoteFileChangedException
 * (Options.CreateFileOptionKeys.FS_OPTION_CREATE_CONDITIONAL_OVERWRITE in the Hadoop API docs).
 *
 * This log store does one such conditional PUT per commit and reports a lost race the way the
 * LogStore contract asks (io.delta.storage.LogStore#write): as
 * java.nio.file.FileAlreadyExistsException, upon which Delta checks the winner's commit for
 * conflicts and retries at the next version.
 * Reads and listings are HadoopFileSystemLogStore's: S3 listings are strongly consistent, so no
 * cache of our own writes is needed. Configure it with
 * spark.delta.logStore.s3a.impl=io.lakehouse.delta.ConditionalPutLogStore.
 *
 * The lease fence: a driver that holds the lake's lease (lakehouse.spark.lease) tells this class,
 * after every successful renewal, how long it surely still holds it (holdFor). A commit attempted
 * after that moment is refused before its PUT, so a driver that was paused (SIGSTOP, a long GC, a
 * frozen VM) past its lease cannot commit the batch it had in flight when it resumes, even though
 * its Python code checked the lease before the MERGE began. The clock is System.nanoTime, which
 * keeps running while the process is stopped. A JVM whose driver never took a lease (tools, tests)
 * is not fenced.
 *
 * Failure modes stay on the safe side: without the conditional-create capability the commit fails
 * rather than PUT unconditionally; AWS's 409 ConditionalRequestConflict (two conditional PUTs of
 * one key at once) reaches Delta as a plain IOException, so that commit fails and is retried by the
 * job's restart, never overwriting the winner. Compiled by lakehouse.runtime.install.
 */
package io.lakehouse.delta;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.util.Iterator;

import io.delta.storage.HadoopFileSystemLogStore;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FSDataOutputStreamBuilder;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.s3a.RemoteFileChangedException;

public class ConditionalPutLogStore extends HadoopFileSystemLogStore {
    static final String CONDITIONAL_CREATE = "fs.option.create.conditional.overwrite";

    /** System.nanoTime() after which no commit may be made, once a lease set it (fenced). */
    private static volatile long commitsAllowedUntil;
    private static volatile boolean fenced;

    /** Allow commits for `millis` more (the lease's remaining sure hold); 0 closes the fence. */
    public static void holdFor(long millis) {
        commitsAllowedUntil = System.nanoTime() + Math.max(0L, millis) * 1_000_000L;
        fenced = true;
    }

    public ConditionalPutLogStore(Configuration initHadoopConf) {
        super(initHadoopConf);
    }

    @Override
    public void write(
            Path path, Iterator<String> actions, Boolean overwrite, Configuration hadoopConf)
            throws IOException {
        FileSystem fs = path.getFileSystem(hadoopConf);
        byte[] body = serialize(actions); // all of it before the PUT: no partial entry on failure
        if (overwrite) {
            try (FSDataOutputStream out = fs.create(path, true)) {
                out.write(body);
            }
            return;
        }
        requireConditionalCreate(fs, path);
        long late = System.nanoTime() - commitsAllowedUntil; // overflow-safe, as nanoTime asks
        if (fenced && late > 0) {
            throw new IOException("not committing " + path + ": this driver's lease may have passed"
                    + " to another driver " + late / 1_000_000L + " ms ago (lakehouse.spark.lease)");
        }
        try {
            putIfAbsent(fs, path, body);
        } catch (RemoteFileChangedException | org.apache.hadoop.fs.FileAlreadyExistsException e) {
            FileAlreadyExistsException lost = new FileAlreadyExistsException(path.toString());
            lost.initCause(e);
            throw lost;
        }
    }

    /** One PUT with If-None-Match: *; S3A only sends the object when the stream closes. */
    private static void putIfAbsent(FileSystem fs, Path path, byte[] body) throws IOException {
        // overwrite(true): the existence check is the PUT's own, not a HEAD request before it.
        FSDataOutputStreamBuilder<?, ?> builder = fs.createFile(path).overwrite(true);
        builder.must(CONDITIONAL_CREATE, true);
        FSDataOutputStream out = builder.build();
        out.write(body);
        out.close();
    }

    /** Without the capability the PUT would be unconditional: refuse rather than lose the fence. */
    private static void requireConditionalCreate(FileSystem fs, Path path) throws IOException {
        if (!fs.hasPathCapability(path, CONDITIONAL_CREATE)) {
            throw new IOException(path.toUri().getScheme() + " cannot create " + path
                    + " conditionally: set fs.s3a.create.conditional.enabled=true (Hadoop 3.4.2+)");
        }
    }

    private static byte[] serialize(Iterator<String> actions) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (actions.hasNext()) {
            body.writeBytes((actions.next() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return body.toByteArray();
    }

    /** An S3 PUT is atomic: a reader sees the whole object or none. */
    @Override
    public Boolean isPartialWriteVisible(Path path, Configuration hadoopConf) {
        return false;
    }
}
