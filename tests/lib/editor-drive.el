;;; editor-drive.el --- run one ocstop.el command in Emacs --batch -*- lexical-binding: t; -*-

;;; Commentary:

;; For tests/integration/editor-emacs.sh: evaluate OCSTOP_EL (e.g.
;; "(ocstop-stop)"), wait until the messages (and the status buffer) come to
;; match OCSTOP_WAIT (a regexp; default "^ocstop"), and write to OUTFILE
;; "cmd_ms N" (the command's own time), "ms N" (to the match, or
;; "timeout"), then what was seen.  An error the command signals is seen
;; as its message.

;;; Code:

(defvar editor-drive--seen nil "The messages so far, oldest last.")

(defun editor-drive--record (text)
  "Keep TEXT, the value of `message', and return it."
  (when text (push text editor-drive--seen))
  text)
(advice-add 'message :filter-return #'editor-drive--record)

(defun editor-drive--text ()
  "The messages, then the status buffer if any."
  (concat (mapconcat #'identity (reverse editor-drive--seen) "\n") "\n"
          (let ((b (get-buffer "*ocstop status*")))
            (if b (with-current-buffer b (buffer-string)) ""))))

(let* ((wait (let ((w (getenv "OCSTOP_WAIT"))) (if (member w '(nil "")) "^ocstop" w)))
       (t0 (float-time))
       cmd-ms ms)
  (condition-case err
      (eval (car (read-from-string (getenv "OCSTOP_EL"))) t)
    (error (push (error-message-string err) editor-drive--seen)))
  (setq cmd-ms (round (* 1000 (- (float-time) t0))))
  ;; Sentinels run while Emacs waits for output: 30 s at most.
  (while (and (not (string-match-p wait (editor-drive--text)))
              (< (- (float-time) t0) 30))
    (accept-process-output nil 0.01))
  (setq ms (if (string-match-p wait (editor-drive--text))
               (round (* 1000 (- (float-time) t0)))
             "timeout"))
  (with-temp-file (getenv "OUTFILE")
    (insert (format "cmd_ms %s\nms %s\n%s\n" cmd-ms ms (editor-drive--text)))))

;;; editor-drive.el ends here
